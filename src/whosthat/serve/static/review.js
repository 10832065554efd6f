// The review page: fix the names of a collection's index. Every button posts a correction to /v1/index/review
// (kept in the index, undone with Undo); names are only ever set as text, never parsed as HTML.
"use strict";

const API = "/v1/index/review";
const UNKNOWN = "unknown";
const PAGE = 48;
const NEW_PERSON = "\u0000new";
const STRANGER = "\u0000stranger";

const state = { members: [], faces: [], total: 0, current: 0, tab: "members" };
const $ = (id) => document.getElementById(id);

function element(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text) node.textContent = text;
  return node;
}

async function call(path, options = {}) {
  const response = await fetch(API + path, options);
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) throw new Error((body && body.error) || `${response.status} ${response.statusText}`);
  return body;
}

function post(path, body) {
  return call(path, { method: "POST", headers: { "Content-Type": "application/json" },
                      body: body === undefined ? undefined : JSON.stringify(body) });
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

function say(message) {
  $("status").textContent = message;
}

// One correction of some faces (one action), then everything shown read again.
async function correct(kind, faces, name = null) {
  showError("");
  say("Saving…");
  try {
    const action = await post("/corrections", { kind, name, faces: faces.map((f) => ({ photo: f.photo, face: f.face })) });
    await refresh();
    say(`Done: ${action.said}.`);
  } catch (error) {
    showError(error.message);
  }
}

async function refresh() {
  await Promise.all([state.tab === "members" ? loadQueue(false) : loadPeople(), loadHistory()]);
}

// Members: their faces, those whose answer teaches the model most first.
async function loadQueue(more) {
  const name = $("member-filter").value;
  const offset = more ? state.faces.length : 0;
  const query = new URLSearchParams({ offset, limit: more ? PAGE : Math.max(PAGE, state.faces.length) });
  if (name) query.set("name", name);
  const found = await call(`/faces?${query}`);
  setMembers(found.members);
  state.faces = more ? state.faces.concat(found.faces) : found.faces;
  state.total = found.total;
  state.current = Math.min(state.current, Math.max(0, state.faces.length - 1));
  drawQueue();
}

function setMembers(members) {
  if (members.join("\n") === state.members.join("\n")) return;
  state.members = members;
  const filter = $("member-filter");
  const chosen = filter.value;
  filter.replaceChildren(element("option", { value: "" }, "every member"));
  for (const name of members) filter.append(element("option", { value: name }, name));
  filter.value = members.includes(chosen) ? chosen : "";
}

function drawQueue() {
  const list = $("queue");
  list.replaceChildren(...state.faces.map((face, n) => faceCard(face, n)));
  $("more").hidden = state.faces.length >= state.total;
  $("summary").textContent = `${state.total} member face${state.total === 1 ? "" : "s"} to review`;
  markCurrent(false);
}

function faceCard(face, n) {
  const item = element("li", { class: "face-card", "data-photo": face.photo, "data-face": face.face, tabindex: "-1" });
  const picture = element("img", { src: face.crop, alt: `face ${face.face} of ${face.path}`, width: 120, height: 120 });
  picture.addEventListener("click", () => { state.current = n; markCurrent(true); showPhoto(face); });
  const name = element("span", { class: "name" }, face.label);
  const sure = element("span", { class: "sure", title: face.reason || "" }, `${Math.round(face.confidence * 100)} %`);
  const confirm = element("button", { type: "button", class: "confirm" }, "Confirm");
  confirm.addEventListener("click", () => correct("confirm", [face], face.label));
  const reject = element("button", { type: "button", class: "reject" }, `Not ${face.label}`);
  reject.addEventListener("click", () => correct("not", [face], face.label));
  const target = element("select", { class: "move-to", "aria-label": "move to" });
  target.append(element("option", { value: "" }, "Move to…"));
  for (const member of state.members.filter((m) => m !== face.label)) target.append(element("option", { value: member }, member));
  target.append(element("option", { value: NEW_PERSON }, "a new person…"), element("option", { value: STRANGER }, "a stranger"));
  const newName = element("input", { class: "new-name", placeholder: "new person's name", maxlength: "100", hidden: "" });
  target.addEventListener("change", () => { newName.hidden = target.value !== NEW_PERSON; if (!newName.hidden) newName.focus(); });
  const move = element("button", { type: "button", class: "move" }, "Move");
  move.addEventListener("click", () => {
    if (target.value === STRANGER) correct("stranger", [face]);
    else if (target.value === NEW_PERSON) correct("move", [face], newName.value);
    else if (target.value) correct("move", [face], target.value);
  });
  const actions = element("div", { class: "actions" });
  actions.append(confirm, reject, target, newName, move);
  item.append(picture, element("div", { class: "label" }), actions);
  item.children[1].append(name, sure);
  return item;
}

function markCurrent(scroll) {
  document.querySelectorAll("#queue .current").forEach((node) => node.classList.remove("current"));
  const card = $("queue").children[state.current];
  if (!card) return;
  card.classList.add("current");
  if (scroll) card.scrollIntoView({ block: "nearest" });
}

// A photo with every face boxed and named.
async function showPhoto(face) {
  showError("");
  try {
    const photo = await call(`/photos/${face.photo}`);
    state.photo = photo;
    $("add-face").hidden = true;
    const stage = $("stage");
    stage.replaceChildren(element("img", { id: "photo", src: photo.image, alt: photo.path, draggable: "false" }));
    $("photo-path").textContent = photo.path;
    for (const other of photo.faces) {
      const [x1, y1, x2, y2] = other.box;
      const box = element("div", { class: `face-box${other.label === UNKNOWN ? " unknown" : ""}${other.face === face.face ? " chosen" : ""}`,
                                   "data-label": other.label, "data-face": other.face });
      Object.assign(box.style, { left: `${(100 * x1) / photo.width}%`, top: `${(100 * y1) / photo.height}%`,
                                 width: `${(100 * (x2 - x1)) / photo.width}%`, height: `${(100 * (y2 - y1)) / photo.height}%` });
      box.append(element("span", { class: "name" }, other.label));
      stage.append(box);
    }
    $("photo-view").hidden = false;
  } catch (error) {
    showError(error.message);
  }
}

// A face the detector missed: a box dragged on the photo, then named (a member, or a new name) and added.
function startBox(event) {
  if (event.button !== 0 || !state.photo) return;
  event.preventDefault();
  const stage = $("stage");
  const area = stage.getBoundingClientRect();
  const start = { x: event.clientX - area.left, y: event.clientY - area.top };
  stage.querySelector(".drawn")?.remove();
  const drawn = element("div", { class: "face-box drawn" });
  stage.append(drawn);
  const follow = (move) => {
    const x = Math.min(Math.max(move.clientX - area.left, 0), area.width);
    const y = Math.min(Math.max(move.clientY - area.top, 0), area.height);
    state.drawn = { x: Math.min(x, start.x), y: Math.min(y, start.y), w: Math.abs(x - start.x), h: Math.abs(y - start.y),
                    scale: state.photo.width / area.width };
    Object.assign(drawn.style, { left: `${state.drawn.x}px`, top: `${state.drawn.y}px`,
                                 width: `${state.drawn.w}px`, height: `${state.drawn.h}px` });
  };
  const stop = (up) => {
    follow(up);
    window.removeEventListener("mousemove", follow);
    window.removeEventListener("mouseup", stop);
    if (state.drawn.w < 4 || state.drawn.h < 4) {
      drawn.remove();
      return;
    }
    $("add-names").replaceChildren(...state.members.map((m) => element("option", { value: m })));
    $("add-face").hidden = false;
    $("add-name").focus();
  };
  window.addEventListener("mousemove", follow);
  window.addEventListener("mouseup", stop);
}

async function addFace(event) {
  event.preventDefault();
  const { x, y, w, h, scale } = state.drawn;
  showError("");
  say("Adding the face…");
  try {
    const added = await post(`/photos/${state.photo.photo}/faces`,
                             { box: [x * scale, y * scale, w * scale, h * scale], name: $("add-name").value });
    $("add-name").value = "";
    await showPhoto(added);
    await refresh();
    say(`Added face ${added.face} as ${added.label}.`);
  } catch (error) {
    showError(error.message);
    say("");
  }
}

function cancelBox() {
  $("add-face").hidden = true;
  $("stage").querySelector(".drawn")?.remove();
}

// New people: groups of unknown faces.
async function loadPeople() {
  const found = await call("/people");
  $("groups").replaceChildren(...found.groups.map(groupRow));
  $("summary").textContent = `${found.groups.length} group${found.groups.length === 1 ? "" : "s"} of unknown faces`;
}

function groupRow(group) {
  const item = element("li", { class: "group", "data-person": group.person });
  const heading = element("h3");
  const merge = element("input", { type: "checkbox", class: "merge-pick", "aria-label": `merge ${group.person}` });
  heading.append(merge, element("span", {}, ` ${group.person}: ${group.faces.length} faces`));
  const faces = element("ul", { class: "group-faces" });
  for (const face of group.faces) {
    const pick = element("label", { class: "pick" });
    const box = element("input", { type: "checkbox", class: "face-pick", "data-photo": face.photo, "data-face": face.face });
    const picture = element("img", { src: face.crop, alt: `face ${face.face} of ${face.path}`, width: 96, height: 96 });
    picture.addEventListener("dblclick", () => showPhoto(face));
    pick.append(box, picture);
    const entry = element("li");
    entry.append(pick);
    faces.append(entry);
  }
  const name = element("input", { class: "group-name", placeholder: "who is this?", maxlength: "100" });
  const nameAll = element("button", { type: "button", class: "name-group" }, "Name");
  nameAll.addEventListener("click", () => correct("confirm", group.faces, name.value));
  const hide = element("button", { type: "button", class: "hide-group" }, "Hide (strangers)");
  hide.addEventListener("click", () => correct("stranger", group.faces));
  const picked = () => group.faces.filter((f) => item.querySelector(`.face-pick[data-photo="${f.photo}"][data-face="${f.face}"]`).checked);
  const splitStranger = element("button", { type: "button", class: "split-stranger" }, "Ticked faces: strangers");
  splitStranger.addEventListener("click", () => picked().length && correct("stranger", picked()));
  const splitName = element("button", { type: "button", class: "split-name" }, "Ticked faces: the name given");
  splitName.addEventListener("click", () => picked().length && correct("confirm", picked(), name.value));
  const actions = element("div", { class: "actions" });
  actions.append(name, nameAll, hide, splitStranger, splitName);
  item.append(heading, faces, actions);
  item.group = group;
  return item;
}

async function mergeGroups(event) {
  event.preventDefault();
  const chosen = Array.from(document.querySelectorAll(".group")).filter((row) => row.querySelector(".merge-pick").checked);
  if (chosen.length) await correct("confirm", chosen.flatMap((row) => row.group.faces), $("merge-name").value);
}

// History, undo, learn.
async function loadHistory() {
  const found = await call("/history");
  $("history").replaceChildren(...found.actions.map((action) =>
    element("li", { "data-action": action.action }, `${action.said} · ${action.time.slice(11, 19)}`)));
  $("undo").disabled = !found.actions.length;
}

async function undo() {
  showError("");
  say("Undoing…");
  try {
    const action = await post("/undo");
    await refresh();
    say(`Undone: ${action.said}.`);
  } catch (error) {
    showError(error.message);
  }
}

async function learn() {
  showError("");
  $("learn").disabled = true;
  $("learned").textContent = "Learning…";
  try {
    const found = await post("/learn");
    const names = Object.entries(found.confirmed).map(([name, n]) => `${name} ${n}`).join(", ") || "none";
    const fresh = found.new_members.length ? ` New members: ${found.new_members.join(", ")}.` : "";
    await refresh();
    $("learned").textContent = `Learned in ${found.seconds} s from faces confirmed (${names}) and ${found.nobody} of ` +
      `nobody of the group.${fresh} ${found.relabelled} photos named again; model ${found.model_file}.`;
  } catch (error) {
    $("learned").textContent = "";
    showError(error.message);
  } finally {
    $("learn").disabled = false;
  }
}

function showTab(tab) {
  state.tab = tab;
  for (const name of ["members", "people"]) {
    $(`tab-${name}`).setAttribute("aria-selected", String(name === tab));
    $(`${name}-panel`).hidden = name !== tab;
  }
  refresh().catch((error) => showError(error.message));
}

function onKey(event) {
  if (event.target.closest("input, select, textarea") || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "u") { undo(); return; }
  if (state.tab !== "members" || !state.faces.length) return;
  const face = state.faces[state.current];
  if (["j", "ArrowDown", "ArrowRight"].includes(event.key)) state.current = Math.min(state.current + 1, state.faces.length - 1);
  else if (["k", "ArrowUp", "ArrowLeft"].includes(event.key)) state.current = Math.max(state.current - 1, 0);
  else if (event.key === "c") { correct("confirm", [face], face.label); return; }
  else if (event.key === "x") { correct("not", [face], face.label); return; }
  else return;
  event.preventDefault();
  markCurrent(true);
}

document.addEventListener("DOMContentLoaded", () => {
  $("tab-members").addEventListener("click", () => showTab("members"));
  $("tab-people").addEventListener("click", () => showTab("people"));
  $("member-filter").addEventListener("change", () => { state.current = 0; state.faces = []; loadQueue(false).catch((e) => showError(e.message)); });
  $("more").addEventListener("click", () => loadQueue(true).catch((e) => showError(e.message)));
  $("merge-form").addEventListener("submit", mergeGroups);
  $("undo").addEventListener("click", undo);
  $("learn").addEventListener("click", learn);
  $("close-photo").addEventListener("click", () => { $("photo-view").hidden = true; });
  $("stage").addEventListener("mousedown", startBox);
  $("add-face").addEventListener("submit", addFace);
  $("add-cancel").addEventListener("click", cancelBox);
  document.addEventListener("keydown", onKey);
  refresh().catch((error) => showError(error.message));
});
