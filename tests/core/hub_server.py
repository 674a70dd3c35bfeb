#!/usr/bin/env python3
"""A local stand-in for the Hugging Face Hub, for tests/core/test_hub_download.cpp.

Speaks the endpoints huggingface_hub uses (GET /api/{models,datasets}/{repo}/revision/{rev},
HEAD/GET /{repo}/resolve/{rev}/{file}) on 127.0.0.1 only, with a second "CDN" server for LFS
files. Python standard library only. Stops by itself after --lifetime seconds.

Repos (each serves the files of --model-dir, or --dataset-dir for the dataset):
  peft-test/tiny-llama     public; its first LFS GET is cut mid-file once (resume)
  peft-test/gated-llama    401 (X-Error-Code: GatedRepo) unless "Authorization: Bearer <--token>"
  peft-test/corrupt        model.safetensors' bytes do not match the sha256 the Hub lists
  peft-test/renamed        answers with a relative 307 redirect to peft-test/tiny-llama
  datasets/peft-test/chat  a dataset repo: the .jsonl and .parquet files of --dataset-dir
Each request is appended to --log as one JSON line: server, method, path, whether an
Authorization header came (never its value), Range.
"""
import argparse
import hashlib
import http.server
import json
import os
import threading
import urllib.parse

LFS_SUFFIXES = (".safetensors", ".parquet")


def git_blob_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Repo:
    def __init__(self, folder, commit, suffixes=None):
        self.commit = commit
        self.files = {}
        for root, _, names in os.walk(folder):
            for n in sorted(names):
                if suffixes and not n.endswith(suffixes):
                    continue
                path = os.path.join(root, n)
                rel = os.path.relpath(path, folder).replace(os.sep, "/")
                with open(path, "rb") as f:
                    self.files[rel] = f.read()

    def is_lfs(self, name):
        return name.endswith(LFS_SUFFIXES)


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.cut_done = set()
        self.repos = {}
        model = Repo(args.model_dir, "0123456789abcdef0123456789abcdef01234567")
        self.repos[("models", "peft-test/tiny-llama")] = model
        self.repos[("models", "peft-test/gated-llama")] = Repo(args.model_dir, "1111111111111111111111111111111111111111")
        self.repos[("models", "peft-test/corrupt")] = Repo(args.model_dir, "2222222222222222222222222222222222222222")
        if args.dataset_dir:
            self.repos[("datasets", "peft-test/chat")] = Repo(args.dataset_dir, "3333333333333333333333333333333333333333",
                                                           (".jsonl", ".parquet"))
        self.cdn_port = 0

    def log(self, entry):
        with self.lock:
            with open(self.args.log, "a") as f:
                f.write(json.dumps(entry) + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None
    role = "hub"

    def log_message(self, *a):
        pass

    def record(self):
        self.state.log({"server": self.role, "method": self.command, "path": self.path,
                        "auth": "Authorization" in self.headers, "range": self.headers.get("Range", "")})

    def send(self, code, headers=None, body=b""):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if "Content-Length" not in (headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def error(self, code, error_code, message):
        self.send(code, {"X-Error-Code": error_code, "X-Error-Message": message,
                         "Content-Type": "application/json"},
                  json.dumps({"error": message}).encode())

    def do_HEAD(self):
        self.handle_any()

    def do_GET(self):
        self.handle_any()

    def handle_any(self):
        self.record()
        try:
            if self.role == "cdn":
                self.serve_cdn()
            else:
                self.serve_hub()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def authorized(self, repo_id):
        if repo_id != "peft-test/gated-llama":
            return True
        return self.headers.get("Authorization", "") == "Bearer " + self.state.args.token

    def serve_hub(self):
        path = urllib.parse.urlsplit(self.path).path
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
        if parts[:1] == ["api"] and len(parts) >= 6 and parts[4] == "revision":
            kind, repo_id = parts[1], parts[2] + "/" + parts[3]
            if repo_id == "peft-test/renamed":
                return self.send(307, {"Location": "/" + "/".join(["api", kind, "peft-test/tiny-llama"] + parts[4:])})
            return self.api(kind, repo_id, "/".join(parts[5:]))
        kind = "models"
        if parts[:1] == ["datasets"]:
            kind, parts = "datasets", parts[1:]
        if len(parts) >= 5 and parts[2] == "resolve":
            repo_id = parts[0] + "/" + parts[1]
            if repo_id == "peft-test/renamed":
                target = "/" + "/".join(["peft-test/tiny-llama"] + [urllib.parse.quote(p, safe="") for p in parts[2:]])
                return self.send(307, {"Location": target})
            return self.resolve(kind, repo_id, parts[3], "/".join(parts[4:]))
        self.error(404, "RepoNotFound", "Repository not found")

    def find(self, kind, repo_id, revision):
        repo = self.state.repos.get((kind, repo_id))
        if repo is None:
            self.error(404, "RepoNotFound", "Repository Not Found for url")
            return None
        if not self.authorized(repo_id):
            self.error(401, "GatedRepo", "Access to model %s is restricted. You must have access to it and be authenticated to access it. Please log in." % repo_id)
            return None
        if revision not in ("main", repo.commit):
            self.error(404, "RevisionNotFound", "Invalid rev id: " + revision)
            return None
        return repo

    def api(self, kind, repo_id, revision):
        repo = self.find(kind, repo_id, revision)
        if repo is None:
            return
        siblings = []
        for name, data in repo.files.items():
            s = {"rfilename": name, "size": len(data), "blobId": git_blob_sha1(data)}
            if repo.is_lfs(name):
                s["lfs"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
            siblings.append(s)
        body = json.dumps({"id": repo_id, "sha": repo.commit, "siblings": siblings}).encode()
        self.send(200, {"Content-Type": "application/json"}, body)

    def resolve(self, kind, repo_id, revision, name):
        repo = self.find(kind, repo_id, revision)
        if repo is None:
            return
        data = repo.files.get(name)
        if data is None:
            return self.error(404, "EntryNotFound", name + " does not exist on \"" + revision + "\"")
        headers = {"X-Repo-Commit": repo.commit}
        if repo.is_lfs(name):
            sha = hashlib.sha256(data).hexdigest()
            headers.update({"X-Linked-Etag": '"%s"' % sha, "X-Linked-Size": str(len(data)),
                            "ETag": '"%s"' % git_blob_sha1(b"version https://git-lfs.github.com/spec/v1\n"),
                            "Location": "http://127.0.0.1:%d/%s/%s/%s?X-Amz-Signature=test" % (
                                self.state.cdn_port, kind, repo_id, urllib.parse.quote(name))})
            return self.send(302, headers)
        headers.update({"ETag": '"%s"' % git_blob_sha1(data), "Content-Type": "application/octet-stream"})
        self.send(200, headers, data)

    def serve_cdn(self):
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).strip("/").split("/")
        kind, repo_id, name = path[0], path[1] + "/" + path[2], "/".join(path[3:])
        repo = self.state.repos.get((kind, repo_id))
        data = repo.files.get(name) if repo else None
        if data is None:
            return self.send(404, {}, b"NoSuchKey")
        if repo_id == "peft-test/corrupt":
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        start = 0
        rng = self.headers.get("Range", "")
        if rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            if start >= len(data):
                return self.send(416, {"Content-Range": "bytes */%d" % len(data)})
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        key = (repo_id, name)
        with self.state.lock:
            cut = repo_id == "peft-test/tiny-llama" and start == 0 and key not in self.state.cut_done
            if cut:
                self.state.cut_done.add(key)
        if cut:  # send half, then drop the connection: the client must resume with Range
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--dataset-dir", default="")
    ap.add_argument("--token", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--lifetime", type=float, default=300)
    args = ap.parse_args()
    state = State(args)
    servers = []
    for role in ("hub", "cdn"):
        handler = type(role.capitalize() + "Handler", (Handler,), {"state": state, "role": role})
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        srv.daemon_threads = True
        servers.append(srv)
    state.cdn_port = servers[1].server_address[1]
    for srv in servers:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d %d\n" % (servers[0].server_address[1], servers[1].server_address[1]))
    os.rename(tmp, args.port_file)
    # Bounded: the process ends after --lifetime seconds whatever the test does.
    threading.Event().wait(args.lifetime)
    for srv in servers:
        srv.shutdown()


if __name__ == "__main__":
    main()
