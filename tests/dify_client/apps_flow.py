"""Chat and completion apps through Dify's own Python client (dify-client 0.1.10 from PyPI).

Run by scripts/dify_client_test.sh against a live `ragd serve` whose workspace model is the small
OpenAI-compatible server this script starts on RAGD_LLM_PORT. The knowledge base goes in through the
knowledge API (dataset key RAGD_KEY); the apps and their keys are made with `ragd app create`
(RAGD_BIN, RAGD_DATA). The client's base URL is hard-coded to api.dify.ai, so it is set after
construction, as its users do.
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from dify_client import ChatClient, CompletionClient

URL, KEY, REPO = os.environ["RAGD_URL"], os.environ["RAGD_KEY"], os.environ["RAGD_REPO"]
RAGD, DATA, LLM_PORT = os.environ["RAGD_BIN"], os.environ["RAGD_DATA"], int(os.environ["RAGD_LLM_PORT"])
TOKENS = ["Green ", "tea ", "is ", "steamed ", "early."]
ANSWER = "".join(TOKENS)
prompts = []


class FakeModel(BaseHTTPRequestHandler):
    """OpenAI's streaming chat completions: deterministic tokens, then usage, then [DONE]."""

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompts.append(body)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for token in TOKENS:
            chunk = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": token}}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        usage = {"object": "chat.completion.chunk", "choices": [],
                 "usage": {"prompt_tokens": 42, "completion_tokens": len(TOKENS)}}
        self.wfile.write(f"data: {json.dumps(usage)}\n\ndata: [DONE]\n\n".encode())

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", LLM_PORT), FakeModel)
threading.Thread(target=server.serve_forever, daemon=True).start()


def prompt_of(request):
    return "\n".join(f"{m['role']}: {m['content']}" for m in request["messages"])


def events(response):
    """The data events of an SSE answer, pings skipped."""
    assert response.headers["Content-Type"].startswith("text/event-stream"), response.headers
    out = []
    for line in response.iter_lines(decode_unicode=True):
        if line and line.startswith("data: "):
            out.append(json.loads(line[len("data: "):]))
    return out


# A knowledge base about tea, through the knowledge API.
auth = {"Authorization": f"Bearer {KEY}"}
dataset = httpx.post(f"{URL}/v1/datasets", headers=auth, json={"name": "tea for apps"}).json()
tea = open(os.path.join(REPO, "datasets/demo/tea.txt"), encoding="utf-8").read()
created = httpx.post(f"{URL}/v1/datasets/{dataset['id']}/document/create_by_text", headers=auth,
                     json={"name": "tea.txt", "text": tea, "indexing_technique": "high_quality",
                           "process_rule": {"mode": "automatic"}}).json()
for _ in range(600):
    status = httpx.get(f"{URL}/v1/datasets/{dataset['id']}/documents/{created['batch']}/indexing-status",
                       headers=auth).json()
    if all(d["indexing_status"] in ("completed", "error") for d in status["data"]):
        break
    time.sleep(0.2)
assert [d["indexing_status"] for d in status["data"]] == ["completed"], status


def create_app(mode, config):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(config, f)
    out = subprocess.run([RAGD, "--data-dir", DATA, "app", "create", "--name", f"tea {mode}", "--mode", mode,
                          "--dataset", dataset["id"], "--model", "tea-model", "--model-config", f.name],
                         check=True, capture_output=True, text=True).stdout.split()
    os.unlink(f.name)
    return out[-2], out[-1]


form = [{"text-input": {"label": "Audience", "variable": "audience", "required": True}}]
_, chat_key = create_app("chat", {"pre_prompt": "You explain tea to {{audience}}.", "user_input_form": form,
                                  "opening_statement": "Ask me about tea."})
_, completion_key = create_app("completion", {"pre_prompt": "Write one line about green tea for {{audience}}.",
                                              "user_input_form": form})

chat = ChatClient(chat_key)
chat.base_url = f"{URL}/v1"
parameters = chat.get_application_parameters("ann")
parameters.raise_for_status()
assert parameters.json()["opening_statement"] == "Ask me about tea.", parameters.json()
assert parameters.json()["user_input_form"] == form

# Blocking chat: the answer, its citations, and what reached the model.
first = chat.create_chat_message(inputs={"audience": "beginners"}, query="How is green tea made?", user="ann")
first.raise_for_status()
first = first.json()
assert first["answer"] == ANSWER and first["mode"] == "chat", first
cited = first["metadata"]["retriever_resources"]
assert cited and all(c["document_name"] == "tea.txt" for c in cited), first
assert first["metadata"]["usage"]["prompt_tokens"] == 42, first
prompt = prompt_of(prompts[-1])
assert "You explain tea to beginners." in prompt and cited[0]["content"].strip() in prompt, prompt
assert prompts[-1]["model"] == "tea-model", prompts[-1]
conversation_id = first["conversation_id"]

# Streaming in the same conversation: the events add up to the same answer; the history reached the model.
streamed = chat.create_chat_message(inputs={}, query="And black tea?", user="ann", response_mode="streaming",
                                    conversation_id=conversation_id)
streamed.raise_for_status()
stream = events(streamed)
assert "".join(e["answer"] for e in stream if e["event"] == "message") == ANSWER, stream
end = stream[-1]
assert end["event"] == "message_end" and end["conversation_id"] == conversation_id, end
assert end["metadata"]["retriever_resources"], end
assert f"user: How is green tea made?\nassistant: {ANSWER}\nuser: And black tea?" in prompt_of(prompts[-1])

# Conversations, history, feedback and rename through the client.
conversations = chat.get_conversations("ann").json()
assert [c["id"] for c in conversations["data"]] == [conversation_id], conversations
assert chat.get_conversations("bob").json()["data"] == []
history = chat.get_conversation_messages("ann", conversation_id).json()
assert [m["query"] for m in history["data"]] == ["How is green tea made?", "And black tea?"], history
assert history["data"][0]["retriever_resources"], history
feedback = chat.message_feedback(history["data"][0]["id"], "like", "ann")
assert feedback.json() == {"result": "success"}, feedback.text
history = chat.get_conversation_messages("ann", conversation_id).json()
assert history["data"][0]["feedback"] == {"rating": "like"}, history
renamed = chat.rename_conversation(conversation_id, "Tea basics", "ann")
assert renamed.json()["name"] == "Tea basics", renamed.text

# Error paths as the client sees them.
missing_user = chat.create_chat_message(inputs={"audience": "x"}, query="hi", user="")
assert missing_user.status_code == 400 and missing_user.json()["message"] == "Arg user must be provided.", missing_user.text
unknown = chat.create_chat_message(inputs={"audience": "x"}, query="hi", user="ann",
                                   conversation_id="6c1f3a52-7d1e-4d7c-9a8e-2f7b1c0d9e11")
assert unknown.status_code == 404 and unknown.json()["message"] == "Conversation Not Exists.", unknown.text

# A document attached to a question.
upload = chat.file_upload("ann", {"file": ("menu.txt", b"Today's special: jasmine pearls.", "text/plain")})
assert upload.status_code == 201, upload.text
with_file = chat.create_chat_message(inputs={"audience": "x"}, query="What is special today?", user="ann",
                                     files=[{"type": "document", "transfer_method": "local_file",
                                             "upload_file_id": upload.json()["id"]}])
assert with_file.status_code == 200, with_file.text
assert "jasmine pearls" in prompt_of(prompts[-1])

# Completion, blocking and streaming.
completion = CompletionClient(completion_key)
completion.base_url = f"{URL}/v1"
blocking = completion.create_completion_message({"audience": "chefs"}, "blocking", "ann")
assert blocking.status_code == 200 and blocking.json()["answer"] == ANSWER, blocking.text
assert "Write one line about green tea for chefs." in prompt_of(prompts[-1])
stream = events(completion.create_completion_message({"audience": "chefs"}, "streaming", "ann"))
assert "".join(e["answer"] for e in stream if e["event"] == "message") == ANSWER, stream
assert stream[-1]["event"] == "message_end", stream
wrong_route = ChatClient(completion_key)
wrong_route.base_url = f"{URL}/v1"
error = wrong_route.create_chat_message(inputs={}, query="hi", user="ann")
assert error.status_code == 400 and error.json()["code"] == "not_chat_app", error.text
# Annotation reply. dify-client 0.1.10 has no annotation methods; newer Dify SDKs call these same
# routes, so they go through the client's own transport (its key, base URL and JSON body).
annotated_q, annotated_a = "Which water suits green tea?", "Soft water, just under 80 degrees."
created = chat._send_request("POST", "/apps/annotations", {"question": annotated_q, "answer": annotated_a})
assert created.status_code == 201, created.text
annotation = created.json()
assert annotation["question"] == annotated_q and annotation["answer"] == annotated_a and annotation["hit_count"] == 0
listed = chat._send_request("GET", "/apps/annotations", params={"page": 1, "limit": 20, "keyword": "WATER"}).json()
assert [a["id"] for a in listed["data"]] == [annotation["id"]] and listed["total"] == 1, listed
settings = {"score_threshold": 0.9, "embedding_provider_name": "openai", "embedding_model_name": "text-embedding-3-small"}
job = chat._send_request("POST", "/apps/annotation-reply/enable", settings).json()
assert job["job_status"] == "waiting", job
for _ in range(600):
    status = chat._send_request("GET", f"/apps/annotation-reply/enable/status/{job['job_id']}").json()
    if status["job_status"] in ("completed", "error"):
        break
    time.sleep(0.1)
assert status == {"job_id": job["job_id"], "job_status": "completed", "error_msg": ""}, status
asked = len(prompts)
hit = chat.create_chat_message(inputs={"audience": "x"}, query=annotated_q, user="cho")
assert hit.status_code == 200, hit.text
hit = hit.json()
assert hit["answer"] == annotated_a and hit["metadata"]["annotation_reply"]["id"] == annotation["id"], hit
stream = events(chat.create_chat_message(inputs={"audience": "x"}, query=annotated_q, user="cho",
                                         response_mode="streaming", conversation_id=hit["conversation_id"]))
assert "".join(e["answer"] for e in stream if e["event"] == "message") == annotated_a, stream
assert stream[-1]["event"] == "message_end" and stream[-1]["metadata"]["annotation_reply"]["id"] == annotation["id"]
assert len(prompts) == asked, "the model was called for an annotated question"
miss = chat.create_chat_message(inputs={"audience": "x"}, query="How are oolong leaves rolled?", user="cho").json()
assert miss["answer"] == ANSWER and "annotation_reply" not in miss["metadata"], miss
assert len(prompts) == asked + 1
listed = chat._send_request("GET", "/apps/annotations").json()
assert listed["data"][0]["hit_count"] == 2, listed
other = ChatClient(completion_key)
other.base_url = f"{URL}/v1"
assert other._send_request("GET", "/apps/annotations").json()["total"] == 0
assert other._send_request("DELETE", f"/apps/annotations/{annotation['id']}").status_code == 404
updated = chat._send_request("PUT", f"/apps/annotations/{annotation['id']}", {"question": annotated_q, "answer": "Soft water."})
assert updated.status_code == 200 and updated.json()["answer"] == "Soft water.", updated.text
again = chat.create_chat_message(inputs={"audience": "x"}, query=annotated_q, user="cho").json()
assert again["answer"] == "Soft water." and len(prompts) == asked + 1, again
bad = chat._send_request("POST", "/apps/annotations", {"question": annotated_q})
assert bad.status_code == 400 and bad.json()["code"] == "invalid_param", bad.text
job = chat._send_request("POST", "/apps/annotation-reply/disable", settings).json()
for _ in range(600):
    status = chat._send_request("GET", f"/apps/annotation-reply/disable/status/{job['job_id']}").json()
    if status["job_status"] in ("completed", "error"):
        break
    time.sleep(0.1)
assert status["job_status"] == "completed", status
off = chat.create_chat_message(inputs={"audience": "x"}, query=annotated_q, user="cho").json()
assert off["answer"] == ANSWER and len(prompts) == asked + 2, off
assert chat._send_request("DELETE", f"/apps/annotations/{annotation['id']}").status_code == 204
print("dify app client flow: ok")
