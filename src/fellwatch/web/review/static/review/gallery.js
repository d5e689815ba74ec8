// The gallery, keyboard first. Every picture arrives blurred from the server; a reveal is a
// POST for one item (audited there), after which that item's unblurred thumbnail may load.
"use strict";
(function () {
  const root = document.getElementById("gallery");
  if (!root) { return; }
  const csrf = document.querySelector("#csrf input[name=csrfmiddlewaretoken]").value;
  const api = root.dataset.api;
  const grades = root.dataset.grades.split("");
  const canWrite = root.dataset.canWrite === "1";
  const tiles = Array.from(document.querySelectorAll("#tiles .tile"));
  const statusLine = document.getElementById("status");
  let at = 0;

  function say(text) { statusLine.textContent = text; }

  function focusTile(i) {
    if (!tiles.length) { return; }
    at = Math.max(0, Math.min(tiles.length - 1, i));
    tiles.forEach((t) => t.classList.remove("current"));
    tiles[at].classList.add("current");
    tiles[at].focus();
  }

  function columns() {
    if (tiles.length < 2) { return 1; }
    const top = tiles[0].offsetTop;
    const n = tiles.findIndex((t) => t.offsetTop !== top);
    return n < 0 ? tiles.length : n;
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body),
    });
    const answer = await response.json();
    if (!response.ok) { throw new Error(answer.error || String(response.status)); }
    return answer;
  }

  function chosen() {
    const selected = tiles.filter((t) => t.classList.contains("selected"));
    return selected.length ? selected : [tiles[at]];
  }

  async function grade(letter, wholeStack) {
    if (!canWrite) { say("read-only"); return; }
    const picked = chosen();
    const ids = picked.map((t) => Number(t.dataset.id));
    const source = wholeStack ? "stack" : (picked.length > 1 ? "bulk" : "gallery");
    try {
      const answer = await post(api + "grades/", {
        findings: ids, grade: letter, action: "grade", stack: wholeStack, source: source,
      });
      picked.forEach((t) => {
        t.querySelector(".grade").textContent = letter;
        t.classList.add("graded");
        t.classList.remove("selected");
      });
      say(`graded ${letter}: ${answer.entries} item(s)`);
      if (picked.length === 1) { focusTile(at + 1); }
    } catch (err) { say(`not graded: ${err.message}`); }
  }

  async function secondOpinion(action) {
    const t = tiles[at];
    let note = "";
    if (action === "dispute") {
      note = window.prompt("Why do you dispute this grade?") || "";
      if (!note) { return; }
    }
    try {
      await post(api + "grades/", { findings: [Number(t.dataset.id)], action: action, note: note });
      t.classList.add(action === "dispute" ? "disputed" : "confirmed");
      say(`${action}ed`);
    } catch (err) { say(`not ${action}ed: ${err.message}`); }
  }

  async function reveal() {
    const t = tiles[at];
    try {
      const answer = await post(t.dataset.reveal, {});
      t.querySelector("img").src = answer.url + "&t=" + Date.now();
      t.classList.add("revealed");
      say(`revealed for ${answer.minutes} minutes (recorded in the audit log)`);
    } catch (err) { say(`not revealed: ${err.message}`); }
  }

  function original() {
    // A form POST in a new tab: the original is read from the evidence on this request only.
    const form = document.createElement("form");
    form.method = "post";
    form.action = tiles[at].dataset.original;
    form.target = "_blank";
    const token = document.createElement("input");
    token.type = "hidden";
    token.name = "csrfmiddlewaretoken";
    token.value = csrf;
    form.appendChild(token);
    document.body.appendChild(form);
    form.submit();
    form.remove();
  }

  tiles.forEach((t, i) => {
    t.addEventListener("click", (e) => {
      if (e.ctrlKey || e.metaKey || e.shiftKey) { t.classList.toggle("selected"); }
      focusTile(i);
    });
  });

  document.addEventListener("keydown", (e) => {
    if (e.target.matches("input, select, textarea, button") || e.altKey || e.ctrlKey ||
        e.metaKey || !tiles.length) { return; }
    const key = e.key;
    const upper = key.length === 1 ? key.toUpperCase() : key;
    let handled = true;
    if (key === "ArrowRight") { focusTile(at + 1); }
    else if (key === "ArrowLeft") { focusTile(at - 1); }
    else if (key === "ArrowDown") { focusTile(at + columns()); }
    else if (key === "ArrowUp") { focusTile(at - columns()); }
    else if (key === " ") { tiles[at].classList.toggle("selected"); }
    else if (upper === "R" && !e.shiftKey) { reveal(); }
    else if (upper === "O" && !e.shiftKey) { original(); }
    else if (upper === "K" && !e.shiftKey) { secondOpinion("confirm"); }
    else if (upper === "D" && !e.shiftKey) { secondOpinion("dispute"); }
    else if (grades.includes(upper)) { grade(upper, e.shiftKey); }
    else { handled = false; }
    if (handled) { e.preventDefault(); }
  });

  // Welfare: seconds on screen (only while the page is visible), and a break reminder.
  const breakAfter = Number(root.dataset["break"]);
  let onScreen = Number(root.dataset.today);
  const TICK = 15;
  function reminder() {
    if (breakAfter > 0 && onScreen >= breakAfter) {
      document.getElementById("break-reminder").hidden = false;
    }
  }
  reminder();
  window.setInterval(() => {
    if (document.visibilityState !== "visible") { return; }
    onScreen += TICK;
    reminder();
    post(root.dataset.exposure, { seconds: TICK }).catch(() => undefined);
  }, TICK * 1000);

  focusTile(0);
})();
