"""Run the check_session_iframe's own script with Node against postMessage test vectors.

The script is taken from the page idgate serves (its one `<script>`), evaluated in a Node
`vm` context that plays the browser: `window.addEventListener`, `document.cookie`, and Node's
WebCrypto (`crypto.subtle`, as in a browser's secure context). Each vector is delivered as a
message event; the replies the script posts back (`[message, targetOrigin]`) are collected.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Any

_HARNESS = r"""
const vm = require("vm");
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const listeners = [];
const sandbox = {
  window: { addEventListener: (type, fn) => { if (type === "message") listeners.push(fn); } },
  document: { cookie: input.cookie },
  crypto: globalThis.crypto,
  TextEncoder: globalThis.TextEncoder,
  Uint8Array: globalThis.Uint8Array,
};
vm.createContext(sandbox);
vm.runInContext(input.script, sandbox);
(async () => {
  const results = [];
  for (const vector of input.vectors) {
    const replies = [];
    const source = { postMessage: (message, target) => replies.push([message, target]) };
    for (const listener of listeners) {
      listener({ data: vector.data, origin: vector.origin, source: source });
    }
    for (let waited = 0; replies.length === 0 && waited < 500; waited += 5) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    results.push(replies);
  }
  process.stdout.write(JSON.stringify({ listeners: listeners.length, results: results }));
})();
"""

_SCRIPT = re.compile(r"<script nonce=\"([^\"]+)\">(.*?)</script>", re.S)


def page_script(html: str) -> tuple[str, str]:
    """(nonce, source) of the page's one script."""
    scripts = _SCRIPT.findall(html)
    assert len(scripts) == 1, html
    nonce, source = scripts[0]
    return nonce, source


def node() -> str:
    found = shutil.which("node")
    assert found is not None, "Node.js is needed to run the check_session_iframe script"
    return found


def run_check_session(script: str, cookie: str, vectors: list[dict[str, Any]]) -> list[Any]:
    """The replies of the iframe script to each {data, origin} vector."""
    completed = subprocess.run(
        [node(), "-e", _HARNESS],
        input=json.dumps({"script": script, "cookie": cookie, "vectors": vectors}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    output = json.loads(completed.stdout)
    assert output["listeners"] == 1
    results: list[Any] = output["results"]
    return results
