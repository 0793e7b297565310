// RedisGate console: the data browser and the command console of an instance. Both call the instance's REST
// data plane (same origin, `/db/<name>`) with a short-lived token the console hands this page, so they obey
// the same policy, limits and metering as any client. The token lives in this page's memory only.
(() => {
  const root = document.getElementById("data");
  if (!root) return;
  const csrf = root.dataset.csrf;
  let session = null; // { token, url, expires_at }

  async function token() {
    if (session && Date.parse(session.expires_at) - Date.now() > 30000) return session;
    const response = await fetch(root.dataset.tokenUrl, { method: "POST", headers: { "x-csrf-token": csrf } });
    if (!response.ok) throw new Error(`cannot open the instance (${response.status})`);
    session = await response.json();
    return session;
  }

  // One command through the REST API: ["SET", "k", "v"] → the result, or an Error with Redis's text. A new
  // token reaches the gateways within a second: a 401 is retried for that long.
  async function run(args) {
    const { token: bearer, url } = await token();
    const send = () => fetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
      body: JSON.stringify(args),
    });
    let response = await send();
    for (let wait = 0; response.status === 401 && wait < 4; wait++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      response = await send();
    }
    const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
    if (body.error !== undefined) throw new Error(body.error);
    return body.result;
  }

  // redis-cli's way of printing a reply.
  function format(value, indent = "") {
    if (value === null) return "(nil)";
    if (typeof value === "number") return `(integer) ${value}`;
    if (typeof value === "string") return JSON.stringify(value);
    if (Array.isArray(value)) {
      if (value.length === 0) return "(empty array)";
      return value.map((item, i) => `${indent}${i + 1}) ${format(item, indent + "   ").trimStart()}`).join("\n");
    }
    return JSON.stringify(value);
  }

  // Splits a command line as redis-cli does: spaces separate, quotes group, backslash escapes in "…".
  function split(line) {
    const args = [];
    let current = null, quote = null;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (quote) {
        if (c === "\\" && quote === '"' && i + 1 < line.length) { current += line[++i]; }
        else if (c === quote) { quote = null; }
        else { current += c; }
      } else if (c === '"' || c === "'") { quote = c; current = current ?? ""; }
      else if (/\s/.test(c)) { if (current !== null) { args.push(current); current = null; } }
      else { current = (current ?? "") + c; }
    }
    if (current !== null) args.push(current);
    return args;
  }

  // --- The command console ---------------------------------------------------------------------------
  const cli = document.getElementById("cli");
  const cliInput = document.getElementById("cli-input");
  const cliOutput = document.getElementById("cli-output");
  const history = [];
  let back = 0;
  cli.addEventListener("submit", async (event) => {
    event.preventDefault();
    const line = cliInput.value.trim();
    if (!line) return;
    history.push(line);
    back = history.length;
    cliInput.value = "";
    let text;
    try { text = format(await run(split(line))); } catch (e) { text = `(error) ${e.message}`; }
    cliOutput.textContent += `> ${line}\n${text}\n`;
    cliOutput.scrollTop = cliOutput.scrollHeight;
  });
  cliInput.addEventListener("keydown", (event) => {
    if (event.key === "ArrowUp" && back > 0) { cliInput.value = history[--back]; event.preventDefault(); }
    if (event.key === "ArrowDown" && back < history.length) { cliInput.value = history[++back] ?? ""; event.preventDefault(); }
  });

  // --- The data browser ------------------------------------------------------------------------------
  const scan = document.getElementById("scan");
  const keys = document.getElementById("keys");
  const more = document.getElementById("more");
  const panel = document.getElementById("value");
  let cursor = "0";

  async function page(fresh) {
    if (fresh) { cursor = "0"; keys.replaceChildren(); }
    const pattern = document.getElementById("scan-pattern").value || "*";
    const type = document.getElementById("scan-type").value;
    const args = ["SCAN", cursor, "MATCH", pattern, "COUNT", "100"];
    if (type) args.push("TYPE", type);
    try {
      const [next, found] = await run(args);
      cursor = String(next);
      for (const key of found) {
        const item = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.className = "link";
        button.textContent = key;
        button.addEventListener("click", () => show(key));
        item.append(button);
        keys.append(item);
      }
      more.hidden = cursor === "0";
      if (cursor === "0" && keys.children.length === 0) keys.textContent = "No key matches.";
    } catch (e) { keys.textContent = `(error) ${e.message}`; }
  }
  scan.addEventListener("submit", (event) => { event.preventDefault(); page(true); });
  more.addEventListener("click", () => page(false));

  const readers = {
    string: (k) => run(["GET", k]),
    hash: (k) => run(["HGETALL", k]),
    list: (k) => run(["LRANGE", k, "0", "99"]),
    set: (k) => run(["SSCAN", k, "0", "COUNT", "100"]).then(([, members]) => members),
    zset: (k) => run(["ZRANGE", k, "0", "99", "WITHSCORES"]),
    stream: (k) => run(["XRANGE", k, "-", "+", "COUNT", "50"]),
    "ReJSON-RL": (k) => run(["JSON.GET", k]),
  };

  async function show(key) {
    panel.hidden = false;
    document.getElementById("value-key").textContent = key;
    const type = await run(["TYPE", key]);
    const ttl = await run(["TTL", key]);
    document.getElementById("value-type").textContent = type;
    document.getElementById("value-ttl").textContent = ttl < 0 ? "none" : `${ttl} s`;
    const read = readers[type];
    const value = read ? await read(key) : null;
    const editor = document.getElementById("value-text");
    editor.value = typeof value === "string" ? value : JSON.stringify(value, null, 2);
    editor.readOnly = type !== "string" && type !== "ReJSON-RL";
    document.getElementById("value-save").hidden = editor.readOnly;
    document.getElementById("value-status").textContent = "";
  }

  async function act(work, done) {
    const status = document.getElementById("value-status");
    try { await work(); status.textContent = done; } catch (e) { status.textContent = `(error) ${e.message}`; }
  }
  document.getElementById("value-save").addEventListener("click", () => {
    const key = document.getElementById("value-key").textContent;
    const type = document.getElementById("value-type").textContent;
    const text = document.getElementById("value-text").value;
    const write = type === "ReJSON-RL" ? ["JSON.SET", key, "$", text] : ["SET", key, text, "KEEPTTL"];
    act(() => run(write), "Saved.");
  });
  document.getElementById("value-expire").addEventListener("click", () => {
    const key = document.getElementById("value-key").textContent;
    const seconds = document.getElementById("value-seconds").value;
    act(() => run(seconds ? ["EXPIRE", key, seconds] : ["PERSIST", key]), seconds ? "TTL set." : "TTL removed.")
      .then(() => show(key));
  });
  document.getElementById("value-delete").addEventListener("click", () => {
    const key = document.getElementById("value-key").textContent;
    act(() => run(["DEL", key]), "Deleted.").then(() => { panel.hidden = true; page(true); });
  });
})();
