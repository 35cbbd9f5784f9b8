"""Drives a live `ragd serve` with dify-dataset-sdk 0.6.3 (PyPI), unmodified: every method of its
DifyDatasetClient that ragd serves, including the calls that differ from Dify's reference (a
dataset's tags asked with POST, original_document_id on create-by-file, tag delete with a JSON
body). What the SDK has no method for (the documents status filter, original_document_id on
create-by-text) is sent through the SDK's own transport.

Environment: RAGD_URL, RAGD_KEY (a dataset API key). Exits non-zero on the first wrong answer.
"""

import os
import sys
import tempfile
import time

from dify_dataset_sdk import DifyDatasetClient
from dify_dataset_sdk.documents.models import CreateDocumentByTextRequest
from dify_dataset_sdk.documents.models import ProcessRule

URL = os.environ["RAGD_URL"]
client = DifyDatasetClient(api_key=os.environ["RAGD_KEY"], base_url=URL, timeout=60)
transport = client._base  # the SDK's own HTTP client, for routes it has no method for


def check(condition, what):
    if not condition:
        sys.exit(f"dataset-sdk flow: {what}")
    print(f"ok  {what}")


def field(item, name):
    """A field of an SDK answer, which is a model or (in paginated lists) a plain dict."""
    return item[name] if isinstance(item, dict) else getattr(item, name)


def wait_indexed(dataset_id, batch):
    for _ in range(600):
        status = client.documents.get_indexing_status(dataset_id, batch)
        if all(item.indexing_status in ("completed", "error") for item in status.data):
            return status.data
        time.sleep(0.2)
    sys.exit(f"batch {batch} did not finish")


automatic = ProcessRule(mode="automatic")

# Datasets and the model list.
dataset = client.datasets.create(name="sdk-0.6.3 flow", indexing_technique="high_quality",
                                 permission="all_team_members")
check(dataset.id and dataset.name == "sdk-0.6.3 flow", "datasets.create")
check(any(field(d, "id") == dataset.id for d in client.datasets.list(keyword="sdk-0.6.3").data), "datasets.list")
check(client.datasets.get(dataset.id).id == dataset.id, "datasets.get")
client.datasets.update(dataset.id, description="what bees and kettles do")
check(client.datasets.get(dataset.id).description == "what bees and kettles do", "datasets.update")
models = client.models.list_embedding_models()
check(len(field(models, "data")) >= 1, "models.list_embedding_models")

# Documents by text, the indexing status, the list, the detail.
bees = client.documents.create_by_text(dataset.id, name="bees.txt",
                                       text="Honeybees dance to tell each other where flowers are.",
                                       process_rule=automatic)
kettles = client.documents.create_by_text(dataset.id, name="kettles.txt",
                                          text="Copper kettles tarnish near the sea air.",
                                          process_rule=automatic)
for created in (bees, kettles):
    items = wait_indexed(dataset.id, created.batch)
    check(all(i.indexing_status == "completed" for i in items), f"{created.document.name} indexed")
check(client.documents.list(dataset.id).total == 2, "documents.list")
check(field(client.documents.get(dataset.id, bees.document.id), "id") == bees.document.id, "documents.get")

# The status filter, through the SDK's transport (its list() has no status parameter).
client.documents.batch_update_status(dataset.id, "disable", [kettles.document.id])
disabled = transport.get(f"/v1/datasets/{dataset.id}/documents", params={"status": "disabled"})
check([d["id"] for d in disabled["data"]] == [kettles.document.id], "documents?status=disabled")
available = transport.get(f"/v1/datasets/{dataset.id}/documents", params={"status": "available"})
check([d["id"] for d in available["data"]] == [bees.document.id], "documents?status=available")
client.documents.batch_update_status(dataset.id, "enable", [kettles.document.id])

# Upsert: original_document_id on create-by-text keeps the id and the batch and replaces the
# content (Dify's request field; this SDK's create_by_text has no parameter for it).
request = CreateDocumentByTextRequest(name="bees.txt", text="Zeppelins drift above the glacier at noon.",
                                      process_rule=automatic).model_dump(exclude_none=True)
upserted = transport.post(f"/v1/datasets/{dataset.id}/document/create-by-text",
                          json={**request, "original_document_id": bees.document.id})
check(upserted["document"]["id"] == bees.document.id, "create-by-text with original_document_id keeps the id")
check(upserted["batch"] == bees.batch, "re-indexing keeps the batch")
wait_indexed(dataset.id, bees.batch)
check(client.documents.list(dataset.id).total == 2, "the upsert created no document")
hits = client.datasets.retrieve(dataset.id, "zeppelins glacier")
check(hits.records and hits.records[0].segment.document_id == bees.document.id, "the new content is retrieved")

# create-by-file with original_document_id (an SDK parameter).
with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
    f.write("Volcanoes erupt ash and lava into the sky.")
by_file = client.documents.create_by_file(dataset.id, f.name, original_document_id=kettles.document.id,
                                          process_rule=automatic)
check(by_file.document.id == kettles.document.id, "create-by-file with original_document_id keeps the id")
wait_indexed(dataset.id, by_file.batch)
check(client.documents.list(dataset.id).total == 2, "still two documents")
upload = client.documents.get_upload_file(dataset.id, kettles.document.id)
check(field(upload, "name").endswith(".txt"), "documents.get_upload_file")

# Segments and their edits.
segments = client.segments.list(dataset.id, bees.document.id)
check(len(segments.data) >= 1, "segments.list")
segment_id = field(segments.data[0], "id")
check(field(field(client.segments.get(dataset.id, bees.document.id, segment_id), "data"), "id") == segment_id, "segments.get")
added = client.segments.create(dataset.id, bees.document.id, [{"content": "Drones do not sting."}])
check(len(added.data) == 1, "segments.create")
client.segments.update(dataset.id, bees.document.id, field(added.data[0], "id"),
                       {"content": "Drones have no sting.", "enabled": True})
client.segments.delete(dataset.id, bees.document.id, field(added.data[0], "id"))
check(len(client.segments.list(dataset.id, bees.document.id).data) == len(segments.data), "segments.delete")

# Metadata.
author = client.metadata.create(dataset.id, "string", "author")
client.metadata.update(dataset.id, field(author, "id"), "writer")
client.metadata.update_document_metadata(dataset.id, [
    {"document_id": bees.document.id, "metadata_list": [{"id": field(author, "id"), "value": "Ada", "name": "writer"}]}])
check(any(field(f, "name") == "writer" for f in field(client.metadata.list(dataset.id), "doc_metadata")), "metadata list/update")
client.metadata.toggle_built_in(dataset.id, "enable")
client.metadata.delete(dataset.id, field(author, "id"))

# Tags: create, list, update, bind, the dataset's tags (POST in this SDK), unbind, delete.
tag = client.tags.create("insects")
check(any(t.id == tag.id for t in client.tags.list()), "tags.list")
client.tags.update(tag.id, "bugs")
client.tags.bind_to_dataset(dataset.id, [tag.id])
bound = client.tags.get_dataset_tags(dataset.id)
check([t.name for t in bound] == ["bugs"], "tags.get_dataset_tags (POST)")
client.tags.unbind_from_dataset(dataset.id, tag.id)
check(client.tags.get_dataset_tags(dataset.id) == [], "tags.unbind_from_dataset")
client.tags.delete(tag.id)
check(all(t.id != tag.id for t in client.tags.list()), "tags.delete")

# Deleting a document, then the dataset.
client.documents.delete(dataset.id, kettles.document.id)
check(client.documents.list(dataset.id).total == 1, "documents.delete")
client.datasets.delete(dataset.id)
check(all(field(d, "id") != dataset.id for d in client.datasets.list().data), "datasets.delete")
print("dify-dataset-sdk 0.6.3 flow passed")
