// The whosthat page: choose or drop a photo, post it to /v1/predict, draw a box and name on every face.
"use strict";

const PALETTE = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#e377c2", "#8c564b", "#bcbd22"];
const UNKNOWN = "unknown";
const colours = new Map();

const $ = (id) => document.getElementById(id);

function colourOf(label) {
  return label === UNKNOWN ? "var(--unknown)" : colours.get(label) || PALETTE[0];
}

function element(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text) node.textContent = text;
  return node;
}

async function errorMessage(response) {
  try {
    return (await response.json()).error || response.statusText;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

async function loadModel() {
  const response = await fetch("/v1/model");
  if (!response.ok) throw new Error(await errorMessage(response));
  const model = await response.json();
  model.classes.forEach((name, i) => colours.set(name, PALETTE[i % PALETTE.length]));
  $("model-summary").textContent =
    `${model.classes.length} members · ${model.pipeline.embedder.name} embeddings, ${model.pipeline.head.name} head`;
  const list = $("members");
  list.replaceChildren();
  for (const member of model.members) {
    const item = element("li");
    item.style.setProperty("--colour", colourOf(member.name));
    item.append(member.thumbnail ? thumbnail(member) : initial(member.name), element("span", {}, member.name));
    list.append(item);
  }
  return model;
}

function thumbnail(member) {
  const image = element("img", { src: member.thumbnail, alt: `${member.name}, from a training photo` });
  image.addEventListener("error", () => image.replaceWith(initial(member.name)));
  return image;
}

function initial(name) {
  return element("span", { class: "initial", role: "img", "aria-label": name }, name.charAt(0).toUpperCase());
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

async function recognise(file) {
  showError("");
  $("status").textContent = `Looking for faces in ${file.name}…`;
  const old = $("photo");
  if (old) URL.revokeObjectURL(old.src);
  const photo = element("img", { id: "photo", src: URL.createObjectURL(file), alt: `The photo you chose: ${file.name}` });
  $("stage").replaceChildren(photo);
  $("faces").replaceChildren();
  $("result").hidden = false;
  const form = new FormData();
  form.append("file", file, file.name);
  const response = await fetch("/v1/predict", { method: "POST", body: form });
  if (!response.ok) {
    $("result").hidden = true;
    $("status").textContent = "";
    showError(`${file.name}: ${await errorMessage(response)}`);
    return;
  }
  const result = await response.json();
  draw(result);
  const named = result.faces.filter((face) => face.label !== UNKNOWN).length;
  $("status").textContent = result.faces.length === 0 ? "No face found."
    : `${result.faces.length} face${result.faces.length > 1 ? "s" : ""}, ${named} named.`;
}

function draw(result) {
  const stage = $("stage");
  const list = $("faces");
  result.faces.forEach((face, i) => {
    const [x1, y1, x2, y2] = face.box;
    const unknown = face.label === UNKNOWN;
    const box = element("div", { class: `face-box${unknown ? " unknown" : ""}`, "data-label": face.label });
    box.style.setProperty("--colour", colourOf(face.label));
    box.style.left = `${(100 * x1) / result.width}%`;
    box.style.top = `${(100 * y1) / result.height}%`;
    box.style.width = `${(100 * (x2 - x1)) / result.width}%`;
    box.style.height = `${(100 * (y2 - y1)) / result.height}%`;
    box.append(element("span", { class: "name" }, `${i + 1}. ${face.label}`));
    stage.append(box);

    const percent = Math.round(100 * face.confidence);
    const item = element("li", { class: unknown ? "unknown" : "" });
    item.style.setProperty("--colour", colourOf(face.label));
    const line = element("div", { class: "face-line" });
    const bar = element("div", { class: "bar", role: "meter", "aria-valuemin": "0", "aria-valuemax": "100",
      "aria-valuenow": String(percent), "aria-label": `confidence for ${face.label}` });
    const fill = element("span");
    fill.style.width = `${percent}%`;
    bar.append(fill);
    const note = unknown ? "not a member" : `${percent}%`;
    line.append(element("span", { class: "label" }, face.label), bar, element("span", { class: "percent" }, note));
    item.append(line);
    list.append(item);
  });
}

async function loadCollection() {
  const response = await fetch("/v1/index");
  if (!response.ok) throw new Error(await errorMessage(response));
  const index = await response.json();
  $("collection-summary").textContent =
    `${index.photos} photos, ${index.faces} faces, named by ${index.model.split("/").pop()}`;
  const names = [...index.members, UNKNOWN];
  $("search-name").replaceChildren(...names.map((name) => element("option", { value: name }, name)));
  $("search-with").append(...index.members.map((name) => element("option", { value: name }, name)));
  $("collection").hidden = false;
  $("search").addEventListener("submit", (event) => {
    event.preventDefault();
    search().catch((error) => { $("search-status").textContent = error.message; });
  });
}

async function search() {
  const query = new URLSearchParams({ name: $("search-name").value });
  if ($("search-with").value) query.append("with", $("search-with").value);
  if ($("search-unsure").checked) query.set("unsure", "true");
  $("search-status").textContent = "Searching…";
  const response = await fetch(`/v1/index/find?${query}`);
  if (!response.ok) throw new Error(await errorMessage(response));
  const { hits } = await response.json();
  $("hits").replaceChildren(...hits.map((hit) => {
    const item = element("li");
    const names = hit.faces.map((face) => `${face.label} ${Math.round(100 * face.confidence)}%`).join(", ");
    item.append(element("img", { src: hit.thumbnail, alt: `${hit.path}: ${names}`, loading: "lazy" }),
      element("div", {}, hit.path), element("div", {}, names));
    return item;
  }));
  $("search-status").textContent = hits.length ? `${hits.length} photo${hits.length > 1 ? "s" : ""}.` : "Nothing found.";
}

function setUp() {
  const input = $("photo-input");
  const zone = $("drop-zone");
  const take = (file) => recognise(file).catch((error) => showError(`${file.name}: ${error.message}`));
  input.addEventListener("change", () => input.files.length && take(input.files[0]));
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("dragging"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    if (event.dataTransfer.files.length) take(event.dataTransfer.files[0]);
  });
  loadModel()
    .then((model) => model.index && loadCollection()
      .catch((error) => { $("collection-summary").textContent = `The index could not be read: ${error.message}`; }))
    .catch((error) => { $("model-summary").textContent = `The model could not be read: ${error.message}`; });
}

setUp();
