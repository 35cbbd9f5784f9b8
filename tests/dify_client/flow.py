"""A full knowledge-base flow through a real, unmodified Dify client (dify-knowledge-sdk from PyPI).

Run by scripts/dify_client_test.sh against a live `ragd serve`: RAGD_URL, RAGD_KEY and RAGD_REPO
come from the environment. Every response goes through the SDK's pydantic models, so a field of the
wrong type or a missing one fails here.
"""
import os
import sys
import time

import httpx
from dify_knowledge_sdk import DifyDatasetClient
from dify_knowledge_sdk.exceptions import (
    DifyAuthenticationError,
    DifyConflictError,
    DifyNotFoundError,
    DifyValidationError,
)

URL, KEY, REPO = os.environ["RAGD_URL"], os.environ["RAGD_KEY"], os.environ["RAGD_REPO"]
client = DifyDatasetClient(api_key=KEY, base_url=URL, timeout=60)


def expect(error, call):
    try:
        call()
    except error:
        return
    sys.exit(f"expected {error.__name__}")


def wait_indexed(dataset_id, batch):
    for _ in range(600):
        status = client.get_document_indexing_status(dataset_id, batch)
        items = status.data
        if all(i.indexing_status in ("completed", "error") for i in items):
            return items
        time.sleep(0.2)
    sys.exit(f"batch {batch} did not finish")


dataset = client.create_dataset(name="dify client flow", description="made by the Dify SDK")
assert dataset.name == "dify client flow" and dataset.document_count == 0
expect(DifyConflictError, lambda: client.create_dataset(name="dify client flow"))
expect(DifyAuthenticationError, lambda: DifyDatasetClient(api_key="dataset-wrong", base_url=URL).list_datasets())
expect(DifyNotFoundError, lambda: client.list_documents("00000000-0000-0000-0000-000000000000"))

listed = client.list_datasets(page=1, limit=10)
assert any(d["id"] == dataset.id for d in listed.data), listed

tea = open(os.path.join(REPO, "datasets/demo/tea.txt"), encoding="utf-8").read()
by_text = client.create_document_by_text(dataset.id, name="tea", text=tea)
by_file = client.create_document_by_file(dataset.id, os.path.join(REPO, "datasets/demo/honeybees.pdf"))
for created in (by_text, by_file):
    items = wait_indexed(dataset.id, created.batch)
    assert [i.indexing_status for i in items] == ["completed"], items
    assert items[0].completed_segments == items[0].total_segments > 0, items
exe = os.path.join(os.environ.get("TMPDIR", "/tmp"), "ragd-flow-virus.exe")
with open(exe, "wb") as f:
    f.write(b"MZ not a document")
expect(DifyValidationError, lambda: client.create_document_by_file(dataset.id, exe))  # 415

documents = client.list_documents(dataset.id)
assert documents.total == 2 and {d["name"] for d in documents.data} == {"tea", "honeybees.pdf"}, documents

# The SDK has no retrieve call; use the same key and base URL as any Dify integration would.
for method in ("semantic_search", "full_text_search", "hybrid_search"):
    answer = httpx.post(
        f"{URL}/v1/datasets/{dataset.id}/retrieve",
        headers={"Authorization": f"Bearer {KEY}"},
        json={"query": "how do bees tell others where the flowers are",
              "retrieval_model": {"search_method": method, "reranking_enable": False, "top_k": 2,
                                  "score_threshold_enabled": False}},
    ).json()
    assert answer["records"][0]["segment"]["document"]["name"] == "honeybees.pdf", (method, answer)


def retrieve(query, **retrieval):
    model = {"search_method": "full_text_search", "reranking_enable": False, "top_k": 5,
             "score_threshold_enabled": False, **retrieval}
    return httpx.post(f"{URL}/v1/datasets/{dataset.id}/hit-testing", headers={"Authorization": f"Bearer {KEY}"},
                      json={"query": query, "retrieval_model": model}).json()


# Segments: add, list, edit (the SDK's update_segment expects a list where Dify answers one segment,
# so that call goes through httpx), delete; retrieval follows every change.
doc_id = by_text.document.id
added = client.create_segments(dataset.id, doc_id, [{"content": "Oolong is partly oxidised tea.", "keywords": ["oolong"]}])
segment_id = added.data[0].id
assert added.data[0].content == "Oolong is partly oxidised tea.", added
segments = client.list_segments(dataset.id, doc_id)
assert any(seg.id == segment_id for seg in segments.data), segments
assert any("Oolong" in r["segment"]["content"] for r in retrieve("oolong oxidised")["records"])
edited = httpx.post(f"{URL}/v1/datasets/{dataset.id}/documents/{doc_id}/segments/{segment_id}",
                    headers={"Authorization": f"Bearer {KEY}"},
                    json={"segment": {"content": "Pu-erh is fermented and aged tea."}}).json()
assert edited["data"]["content"] == "Pu-erh is fermented and aged tea.", edited
assert not retrieve("oolong oxidised")["records"] or all("Oolong" not in r["segment"]["content"] for r in retrieve("oolong oxidised")["records"])
client.delete_segment(dataset.id, doc_id, segment_id)
assert all("Pu-erh" not in r["segment"]["content"] for r in retrieve("pu-erh fermented aged")["records"])

# Metadata: a field, a value on one document, and a filter that keeps only that document.
field = client.create_metadata_field(dataset.id, "string", "topic")
client.update_document_metadata(dataset.id, [{"document_id": by_file.document.id,
                                              "metadata_list": [{"id": field.id, "name": "topic", "value": "bees"}]}])
fields = client.list_metadata_fields(dataset.id)
assert [(m.name, m.use_count) for m in fields.doc_metadata] == [("topic", 1)], fields
only_bees = retrieve("history", search_method="hybrid_search", metadata_filtering_conditions={
    "logical_operator": "and", "conditions": [{"name": "topic", "comparison_operator": "is", "value": "bees"}]})
assert only_bees["records"] and all(r["segment"]["document"]["name"] == "honeybees.pdf" for r in only_bees["records"]), only_bees
renamed = client.update_metadata_field(dataset.id, field.id, "subject")
assert renamed.name == "subject"

# Update by text: new content replaces the old once re-indexed.
updated = client.update_document_by_text(dataset.id, doc_id, name="tea", text="Matcha is powdered green tea from Japan.")
items = wait_indexed(dataset.id, updated.batch)
assert [i.indexing_status for i in items] == ["completed"], items
assert any("Matcha" in r["segment"]["content"] for r in retrieve("powdered green tea matcha")["records"])

client.delete_document(dataset.id, by_file.document.id)
assert client.list_documents(dataset.id).total == 1
client.delete_dataset(dataset.id)
expect(DifyNotFoundError, lambda: client.list_documents(dataset.id))
print("dify client flow: ok")
