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

  // POSTs `body` as JSON to the instance's data plane at `path` ("" for one command) and answers the parsed
  // reply. A new token reaches the gateways within a second: a 401 is retried for that long.
  async function post(path, body) {
    const { token: bearer, url } = await token();
    const send = () => fetch(`${url}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    let response = await send();
    for (let wait = 0; response.status === 401 && wait < 4; wait++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      response = await send();
    }
    return response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  }

  // One command: ["SET", "k", "v"] → the result, or an Error with Redis's text.
  async function run(args) {
    const body = await post("", args);
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
        // Opening a key says nothing unless it fails (a lost token, a key of a type that cannot be read).
        button.addEventListener("click", () => act(() => show(key)));
        item.append(button);
        keys.append(item);
      }
      more.hidden = cursor === "0";
      if (cursor === "0" && keys.children.length === 0) keys.textContent = "No key matches.";
    } catch (e) { keys.textContent = `(error) ${e.message}`; }
  }
  scan.addEventListener("submit", (event) => { event.preventDefault(); page(true); });
  more.addEventListener("click", () => page(false));

  // Every command of `commands` in one MULTI/EXEC: all apply or none does.
  async function transaction(commands) {
    const body = await post("/multi-exec", commands);
    if (!Array.isArray(body)) throw new Error(body.error ?? "the transaction was refused");
    const failed = body.find((reply) => reply.error !== undefined);
    if (failed) throw new Error(failed.error);
    return body.map((reply) => reply.result);
  }

  const pairs = (flat) => flat.reduce((rows, item, i) => (i % 2 ? rows[rows.length - 1].push(item) : rows.push([item]), rows), []);
  // Removing one list element by its index: mark it with a value no user writes, then remove the mark.
  const TOMBSTONE = "__redisgate_console_removed__";
  const SHOWN = 100;

  // Strings and JSON are edited as a whole; the collections one element at a time. Each kind says which
  // columns it shows (and which of them can be edited), how to read the first SHOWN elements and how many
  // there are, and the commands that save an edited row, remove a row and add one.
  const whole = {
    string: { read: (k) => run(["GET", k]), write: (k, text) => run(["SET", k, text, "KEEPTTL"]) },
    "ReJSON-RL": { read: (k) => run(["JSON.GET", k]), write: (k, text) => run(["JSON.SET", k, "$", text]) },
  };
  const collections = {
    hash: {
      columns: ["Field", "Value"], editable: [false, true],
      read: (k) => run(["HSCAN", k, "0", "COUNT", String(SHOWN)]).then(([, flat]) => pairs(flat)),
      size: (k) => run(["HLEN", k]),
      save: (k, [field], [, value]) => run(["HSET", k, field, value]),
      remove: (k, [field]) => run(["HDEL", k, field]),
      add: ["Field", "Value"], insert: (k, [field, value]) => run(["HSET", k, field, value]),
    },
    list: {
      columns: ["Index", "Value"], editable: [false, true],
      read: (k) => run(["LRANGE", k, "0", String(SHOWN - 1)]).then((items) => items.map((v, i) => [String(i), v])),
      size: (k) => run(["LLEN", k]),
      save: (k, [index], [, value]) => run(["LSET", k, index, value]),
      remove: (k, [index]) => transaction([["LSET", k, index, TOMBSTONE], ["LREM", k, "1", TOMBSTONE]]),
      add: ["Value (appended)"], insert: (k, [value]) => run(["RPUSH", k, value]),
    },
    set: {
      columns: ["Member"], editable: [true],
      read: (k) => run(["SSCAN", k, "0", "COUNT", String(SHOWN)]).then(([, members]) => members.map((m) => [m])),
      size: (k) => run(["SCARD", k]),
      save: (k, [old], [member]) => transaction([["SREM", k, old], ["SADD", k, member]]),
      remove: (k, [member]) => run(["SREM", k, member]),
      add: ["Member"], insert: (k, [member]) => run(["SADD", k, member]),
    },
    zset: {
      columns: ["Member", "Score"], editable: [false, true],
      read: (k) => run(["ZRANGE", k, "0", String(SHOWN - 1), "WITHSCORES"]).then(pairs),
      size: (k) => run(["ZCARD", k]),
      save: (k, [member], [, score]) => run(["ZADD", k, "XX", score, member]),
      remove: (k, [member]) => run(["ZREM", k, member]),
      add: ["Member", "Score"], insert: (k, [member, score]) => run(["ZADD", k, score, member]),
    },
    stream: {
      // Entries are never changed in place in a stream: they are added and removed.
      columns: ["ID", "Fields"], editable: [false, false],
      read: (k) => run(["XRANGE", k, "-", "+", "COUNT", String(SHOWN)])
        .then((entries) => entries.map(([id, fields]) => [id, pairs(fields).map(([f, v]) => `${f}=${v}`).join(" ")])),
      size: (k) => run(["XLEN", k]),
      remove: (k, [id]) => run(["XDEL", k, id]),
      add: ["Fields (field value …)"], insert: (k, [fields]) => run(["XADD", k, "*", ...split(fields)]),
    },
  };

  function element(tag, props = {}, ...children) {
    const made = Object.assign(document.createElement(tag), props);
    made.append(...children);
    return made;
  }

  // The table of a collection's first elements, each row with its own Save and Remove.
  function rows(key, kind, items) {
    const table = document.getElementById("value-items");
    const head = element("tr", {}, ...kind.columns.map((c) => element("th", { scope: "col", textContent: c })),
      element("th", { scope: "col", textContent: "Actions" }));
    const body = items.map((cells) => {
      const name = cells[0];
      const inputs = [];
      const tds = cells.map((cell, i) => {
        if (!kind.editable[i]) return element("td", {}, element("code", { textContent: cell }));
        const input = element("input", { type: "text", value: cell });
        input.setAttribute("aria-label", `${kind.columns[i]} of ${name}`);
        inputs[i] = input;
        return element("td", {}, input);
      });
      const actions = element("td", { className: "row-actions" });
      if (kind.save) {
        const save = element("button", { type: "button", textContent: "Save" });
        save.setAttribute("aria-label", `Save ${name}`);
        save.addEventListener("click", () => act(
          () => kind.save(key, cells, cells.map((cell, i) => inputs[i]?.value ?? cell)), "Saved.", key));
        actions.append(save);
      }
      const remove = element("button", { type: "button", className: "danger", textContent: "Remove" });
      remove.setAttribute("aria-label", `Remove ${name}`);
      remove.addEventListener("click", () => act(() => kind.remove(key, cells), "Removed.", key));
      actions.append(remove);
      return element("tr", {}, ...tds, actions);
    });
    table.replaceChildren(element("thead", {}, head), element("tbody", {}, ...body));
  }

  // The form that adds an element: one labelled input per part.
  function adder(key, kind) {
    const form = document.getElementById("value-add");
    const inputs = kind.add.map((_, i) => element("input", { id: `value-add-${i}`, type: "text", required: true }));
    const fields = kind.add.map((label, i) =>
      element("div", { className: "field" }, element("label", { htmlFor: `value-add-${i}`, textContent: label }), inputs[i]));
    const button = element("button", { type: "submit", textContent: "Add" });
    form.replaceChildren(...fields, button);
    form.onsubmit = (event) => {
      event.preventDefault();
      act(() => kind.insert(key, inputs.map((input) => input.value)), "Added.", key);
    };
  }

  async function show(key) {
    panel.hidden = false;
    document.getElementById("value-key").textContent = key;
    const [type, ttl] = await Promise.all([run(["TYPE", key]), run(["TTL", key])]);
    document.getElementById("value-type").textContent = type;
    document.getElementById("value-ttl").textContent = ttl < 0 ? "none" : `${ttl} s`;
    const editor = document.getElementById("value-whole");
    const items = document.getElementById("value-elements");
    const kind = collections[type];
    document.getElementById("value-items").replaceChildren();
    editor.hidden = !whole[type];
    items.hidden = !kind;
    if (whole[type]) {
      const value = await whole[type].read(key);
      document.getElementById("value-text").value = typeof value === "string" ? value : JSON.stringify(value, null, 2);
    } else if (kind) {
      const [found, size] = await Promise.all([kind.read(key), kind.size(key)]);
      document.getElementById("value-count").textContent =
        size > found.length ? `The first ${found.length} of ${size}.` : `${size} in all.`;
      rows(key, kind, found);
      adder(key, kind);
    } else if (type === "none") {
      document.getElementById("value-status").textContent = "This key no longer exists.";
    }
  }

  // Runs a change, then (given `key`) shows that key again, and only then says `done`: once the status
  // reads "Saved.", the page shows what was saved.
  async function act(work, done, key) {
    const status = document.getElementById("value-status");
    status.textContent = "";
    try {
      await work();
      if (key !== undefined) await show(key);
      if (done) status.textContent = done;
    } catch (e) { status.textContent = `(error) ${e.message}`; }
  }
  document.getElementById("value-save").addEventListener("click", () => {
    const key = document.getElementById("value-key").textContent;
    const type = document.getElementById("value-type").textContent;
    act(() => whole[type].write(key, document.getElementById("value-text").value), "Saved.");
  });
  document.getElementById("value-expire").addEventListener("click", () => {
    const key = document.getElementById("value-key").textContent;
    const seconds = document.getElementById("value-seconds").value;
    act(() => run(seconds ? ["EXPIRE", key, seconds] : ["PERSIST", key]), seconds ? "TTL set." : "TTL removed.", key);
  });
  document.getElementById("value-delete").addEventListener("click", () => {
    const key = document.getElementById("value-key").textContent;
    act(() => run(["DEL", key]), "Deleted.").then(() => { panel.hidden = true; page(true); });
  });
})();
