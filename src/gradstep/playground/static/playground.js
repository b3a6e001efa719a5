// gradstep playground: the page. It draws what the server sends over the WebSocket
// (catalog, config, data, frame, schedule, explain, error, status) and sends the
// user's choices back as messages. Plain JavaScript and canvas, no libraries.
"use strict";

const BLUE = [8, 119, 189];
const ORANGE = [245, 147, 34];
const WHITE = [232, 234, 235];

const state = {
  socket: null,
  session: null,   // this tab's session id, for uploads and exports
  catalog: null,
  config: null,
  data: null,
  frame: null,
  schedule: [],
  running: false,
  drawPending: false,
  edges: [],       // [{x0, y0, x1, y1, layer, row, column}] for clicks on the network
  featureNodes: [], // [{x, y, size, name}]
};

const $ = (id) => document.getElementById(id);

// --- colours --------------------------------------------------------------------------
// value in [-1, 1] -> orange (-1), white (0), blue (+1), as Playground.
function color(value) {
  const v = Math.max(-1, Math.min(1, Number.isFinite(value) ? value : 0));
  const end = v < 0 ? ORANGE : BLUE;
  const t = Math.abs(v);
  return WHITE.map((c, i) => Math.round(c + (end[i] - c) * t));
}
const css = (rgb, alpha = 1) => `rgba(${rgb[0]},${rgb[1]},${rgb[2]},${alpha})`;

// A target or prediction on the colour scale: the output's range maps to -1..1
// (classification: the probability of class 1, 0..1).
function signed(value) {
  const [low, high] = (state.frame && state.frame.boundary.range) || [0, 1];
  return high > low ? (2 * (value - low)) / (high - low) - 1 : 0;
}

// --- the connection -------------------------------------------------------------------
function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}/ws${location.search}`);
  state.socket = socket;
  socket.onmessage = (event) => receive(JSON.parse(event.data));
  socket.onclose = (event) => showStatus(event.code === 1009
    ? "disconnected: a message was over the server's 1 MB limit. Reload the page."
    : "disconnected: is `gradstep playground` still running? Reload the page.");
}

function send(type, fields = {}) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) {
    state.socket.send(JSON.stringify({ type, ...fields }));
  }
}

const handlers = {
  catalog(message) {
    state.catalog = message.catalog;
    state.session = message.session;
    buildControls();
    send("config", { config: savedConfig() });
  },
  config(message) {
    state.config = message.config;
    saveConfig();
    showConfig();
  },
  data(message) {
    state.data = message.data;
    scheduleDraw();
  },
  frame(message) {
    state.frame = message.frame;
    scheduleDraw();
  },
  schedule(message) {
    state.schedule = message.schedule;
    state.previewAsked = false;
    scheduleDraw();
  },
  status(message) {
    state.running = message.running;
    $("play").classList.toggle("running", state.running);
    $("play").setAttribute("aria-label", state.running ? "Pause" : "Play");
    showStatus(state.running ? "training" : "paused");
  },
  explain(message) {
    $("explain-body").innerHTML = message.html;
    if (!$("explain").open) $("explain").showModal();
  },
  error(message) { showError(message.message); },
};

function receive(message) {
  const handler = handlers[message.type];
  if (handler) handler(message);
}

function showStatus(text) { $("status").textContent = text; }

function showError(text) {
  const box = $("error");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => { box.hidden = true; }, 8000);
}

// The configuration survives a reload (the page's own storage, this tab only).
function savedConfig() {
  try { return JSON.parse(sessionStorage.getItem("gradstep-playground") || "{}"); }
  catch { return {}; }
}
function saveConfig() {
  sessionStorage.setItem("gradstep-playground", JSON.stringify(state.config));
}

// --- the controls ---------------------------------------------------------------------
function option(select, value, label = value) {
  const element = document.createElement("option");
  element.value = value;
  element.textContent = label;
  select.appendChild(element);
}

function fillSelect(select, values) {
  select.innerHTML = "";
  for (const value of values) option(select, value, String(value).replaceAll("_", " "));
}

// The catalogue's lists as lookups by name.
const byName = (entries) => Object.fromEntries(entries.map((entry) => [entry.name, entry]));

function buildControls() {
  const catalog = state.catalog;
  state.optimizers = byName(catalog.optimizers);
  state.schedules = byName(catalog.schedules);
  state.datasets = byName(catalog.datasets);
  fillSelect($("optimizer"), Object.keys(state.optimizers));
  fillSelect($("schedule"), ["none", ...Object.keys(state.schedules)]);
  fillSelect($("activation"), catalog.activations);
  fillSelect($("regularization"), catalog.regularizations);
  const box = $("datasets");
  box.innerHTML = "";
  for (const { name, task } of catalog.datasets) {
    if (name === "csv") continue;  // chosen by uploading a file
    const button = document.createElement("button");
    button.dataset.name = name;
    button.id = `dataset-${name}`;
    button.title = `${name.replaceAll("_", " ")} (${task})`;
    const icon = document.createElement("canvas");
    icon.width = icon.height = 44;
    drawDatasetIcon(icon, name);
    button.append(icon, name.replaceAll("_", " "));
    button.onclick = () => change({ dataset: name });
    box.appendChild(button);
  }
}

// Small pictures of the sets, drawn from their rule (not from data).
function drawDatasetIcon(canvas, name) {
  const g = canvas.getContext("2d");
  const image = g.createImageData(44, 44);
  for (let j = 0; j < 44; j++) {
    for (let i = 0; i < 44; i++) {
      const x = (i / 43) * 12 - 6, y = 6 - (j / 43) * 12;
      const r = Math.hypot(x, y);
      let v = 0;
      if (name === "circle") v = r < 3 ? 1 : -1;
      else if (name === "xor") v = x * y >= 0 ? 1 : -1;
      else if (name === "gaussians") v = Math.tanh((x + y) / 1.5);
      else if (name === "spiral") v = Math.sin(Math.atan2(x, y) - r * 1.8) > 0 ? 1 : -1;
      else if (name === "plane") v = (x + y) / 10;
      else if (name === "multi_gaussian") v = Math.sin(x * 0.8) * Math.sin(y * 1.2);
      else v = 0;
      const c = color(v * 0.8);
      image.data.set([c[0], c[1], c[2], 255], (j * 44 + i) * 4);
    }
  }
  g.putImageData(image, 0, 0);
}

// Inputs for the chosen optimizer's or schedule's arguments.
function argumentInputs(container, defaults, values, key) {
  container.innerHTML = "";
  for (const [name, fallback] of Object.entries(defaults || {})) {
    const field = document.createElement("div");
    field.className = "field";
    const label = document.createElement("label");
    label.textContent = name.replaceAll("_", " ");
    label.htmlFor = `${key}-${name}`;
    const input = document.createElement("input");
    input.id = `${key}-${name}`;
    input.dataset.argument = name;
    const value = values && name in values ? values[name] : fallback;
    if (typeof fallback === "boolean") {
      input.type = "checkbox";
      input.checked = Boolean(value);
      input.onchange = () => change({ [key]: { ...values, [name]: input.checked } });
    } else if (Array.isArray(fallback)) {
      input.type = "text";
      input.value = value.join(", ");
      input.onchange = () => change({
        [key]: { ...values, [name]: input.value.split(",").map(Number) },
      });
    } else {
      input.type = "number";
      input.step = "any";
      input.value = value;
      input.onchange = () => change({ [key]: { ...values, [name]: Number(input.value) } });
    }
    field.append(label, input);
    container.appendChild(field);
  }
}

function showConfig() {
  const config = state.config;
  const catalog = state.catalog;
  $("optimizer").value = config.optimizer;
  argumentInputs($("optimizer-args"), state.optimizers[config.optimizer].hyperparameters,
    config.optimizer_options, "optimizer_options");
  $("schedule").value = config.schedule;
  const schedule = state.schedules[config.schedule];
  argumentInputs($("schedule-args"), schedule ? schedule.arguments : {},
    config.schedule_options, "schedule_options");
  const task = (state.data && state.data.task) || state.datasets[config.dataset].task;
  fillSelect($("loss"), catalog.losses[task]);
  $("loss").value = config.loss;
  for (const id of ["learning_rate", "batch_size", "activation", "regularization",
    "regularization_rate", "dropout"]) {
    $(id).value = config[id];
  }
  if (config.seed !== null && document.activeElement !== $("seed")) $("seed").value = config.seed;
  for (const id of ["test_ratio", "noise", "samples"]) {
    $(id).value = config[id];
    $(`${id}-value`).textContent = config[id];
  }
  for (const button of $("datasets").children) {
    button.classList.toggle("selected", button.dataset.name === config.dataset);
  }
  $("layer-count").textContent = config.hidden_layers.length;
  $("add-layer").disabled = config.hidden_layers.length >= catalog.limits.hidden_layers;
  $("remove-layer").disabled = config.hidden_layers.length === 0;
  scheduleDraw();
}

function change(fields) {
  send("config", { config: { ...state.config, ...fields } });
}

function wireControls() {
  $("play").onclick = () => send(state.running ? "pause" : "play");
  $("step").onclick = () => send("step");
  $("epoch").onclick = () => send("epoch");
  $("reset").onclick = () => send("reset");
  $("rewind").onclick = () => send("rewind");
  $("seed").onchange = () => send("reset", { seed: Number($("seed").value) });
  $("optimizer").onchange = () => change({
    optimizer: $("optimizer").value,
    optimizer_options: {},
    learning_rate: state.optimizers[$("optimizer").value].learning_rate,
  });
  $("schedule").onchange = () => change({ schedule: $("schedule").value, schedule_options: {} });
  for (const id of ["loss", "activation", "regularization"]) {
    $(id).onchange = () => change({ [id]: $(id).value });
  }
  for (const id of ["learning_rate", "batch_size", "regularization_rate", "dropout",
    "test_ratio", "noise", "samples"]) {
    $(id).onchange = () => change({ [id]: Number($(id).value) });
  }
  for (const id of ["test_ratio", "noise", "samples"]) {
    $(id).oninput = () => { $(`${id}-value`).textContent = $(id).value; };
  }
  $("add-layer").onclick = () => change({ hidden_layers: [...state.config.hidden_layers, 2] });
  $("remove-layer").onclick = () => change({
    hidden_layers: state.config.hidden_layers.slice(0, -1),
  });
  $("show-test").onchange = scheduleDraw;
  $("regenerate").onclick = () => change({ data_seed: state.config.data_seed + 1 });
  $("network").onclick = clickNetwork;
  $("error").onclick = () => { $("error").hidden = true; };
  for (const button of document.querySelectorAll("#exports button")) {
    button.onclick = () => exportRun(button.dataset.export);
  }
  wireCsv();
}

// --- CSV upload -----------------------------------------------------------------------
function wireCsv() {
  $("csv-file").onchange = async () => {
    const file = $("csv-file").files[0];
    if (!file) return;
    const head = await file.slice(0, 4096).text();
    const columns = head.split(/\r?\n/)[0].split(",").map((name) => name.trim());
    for (const id of ["csv-x1", "csv-x2", "csv-target"]) fillSelect($(id), columns);
    for (const select of ["csv-x1", "csv-x2", "csv-target"].map($)) {
      for (const element of select.options) element.textContent = element.value;
    }
    $("csv-x1").selectedIndex = 0;
    $("csv-x2").selectedIndex = Math.min(1, columns.length - 1);
    $("csv-target").selectedIndex = columns.length - 1;
    $("csv-upload").disabled = false;
    csvMessage(`${columns.length} columns: choose two features and the target`, false);
  };
  $("csv-upload").onclick = uploadCsv;
}

function csvMessage(text, bad) {
  $("csv-message").textContent = text;
  $("csv-message").classList.toggle("bad", bad);
}

async function uploadCsv() {
  const form = new FormData();
  form.append("file", $("csv-file").files[0]);
  form.append("x1", $("csv-x1").value);
  form.append("x2", $("csv-x2").value);
  form.append("target", $("csv-target").value);
  csvMessage("uploading...", false);
  try {
    const response = await fetch(`upload?session=${state.session}`, { method: "POST", body: form });
    const answer = await response.json();
    if (answer.type === "error") csvMessage(answer.message, true);
    else csvMessage(`loaded: ${answer.rows} training points (${answer.task})`, false);
  } catch (error) {
    csvMessage(`the upload failed: ${error}`, true);
  }
}

// --- export ---------------------------------------------------------------------------
const SCRIPTS = { gradstep: "gradstep", keras: "Keras", pytorch: "PyTorch" };

async function exportRun(kind) {
  const url = `export/${kind}?session=${state.session}`;
  const response = await fetch(url);
  if (!response.ok) {
    const answer = await response.json().catch(() => ({ message: response.statusText }));
    showError(answer.message);
    return;
  }
  const blob = await response.blob();
  const name = (response.headers.get("Content-Disposition") || "").match(/filename="(.+)"/);
  const link = $("script-download");
  link.href = URL.createObjectURL(blob);
  link.download = name ? name[1] : kind;
  if (kind in SCRIPTS) {
    $("script-title").textContent = `The run as a ${SCRIPTS[kind]} script`;
    $("script-body").textContent = await blob.text();
    $("script").showModal();
  } else {
    link.click();
  }
}

// --- drawing --------------------------------------------------------------------------
function scheduleDraw() {
  if (state.drawPending) return;
  state.drawPending = true;
  requestAnimationFrame(() => {
    state.drawPending = false;
    draw();
  });
}

function draw() {
  if (!state.config) return;
  drawLearningRate();
  if (!state.frame) return;
  const frame = state.frame;
  $("epoch-count").textContent = frame.epoch;
  if (document.activeElement !== $("seed")) $("seed").value = frame.seed;
  $("step-count").textContent = frame.step;
  const format = (value) => (value === null || value === undefined ? "–" : value.toFixed(3));
  $("train-loss").textContent = format(frame.train_loss);
  $("test-loss").textContent = format(frame.test_loss);
  const percent = (value) => (value === null || value === undefined ? "" : `${Math.round(value * 100)}%`);
  $("train-accuracy").textContent = percent(frame.train_accuracy);
  $("test-accuracy").textContent = percent(frame.test_accuracy);
  $("accuracies").hidden = frame.test_accuracy === null || frame.test_accuracy === undefined;
  if (frame.diverged) showStatus(frame.diverged);
  drawBoundary();
  drawNetwork();
  drawLosses();
  drawDiagnostics();
  drawColorScale();
}

// A grid of values (row-major, first row at the top of the plane) as an image.
function heatImage(values, size, scale) {
  const image = new ImageData(size, size);
  for (let k = 0; k < size * size; k++) {
    const c = color(scale(values[k]));
    image.data.set([c[0], c[1], c[2], 255], k * 4);
  }
  return image;
}

function paintGrid(context, values, size, scale, x, y, width, height) {
  const buffer = document.createElement("canvas");
  buffer.width = buffer.height = size;
  buffer.getContext("2d").putImageData(heatImage(values, size, scale), 0, 0);
  context.imageSmoothingEnabled = true;
  context.drawImage(buffer, x, y, width, height);
}

function drawBoundary() {
  const canvas = $("boundary");
  const g = canvas.getContext("2d");
  const grid = state.frame.boundary;
  // a little paler than the points, which then stand out on it
  paintGrid(g, grid.values, grid.grid, (v) => 0.8 * signed(v), 0, 0, canvas.width, canvas.height);
  if (!state.data) return;
  const [x1min, x1max, x2min, x2max] = grid.bounds;
  const px = (x) => ((x - x1min) / (x1max - x1min)) * canvas.width;
  const py = (y) => ((x2max - y) / (x2max - x2min)) * canvas.height;
  const points = (list, stroke) => {
    for (const [x, y, target] of list) {
      g.beginPath();
      g.arc(px(x), py(y), 3.2, 0, 2 * Math.PI);
      g.fillStyle = css(color(signed(target)));
      g.fill();
      g.lineWidth = 1;
      g.strokeStyle = stroke;
      g.stroke();
    }
  };
  points(state.data.train, "#fff");
  if ($("show-test").checked) points(state.data.test, "#000");
  g.strokeStyle = "rgba(0,0,0,0.25)";
  g.beginPath();
  g.moveTo(px(0), 0); g.lineTo(px(0), canvas.height);
  g.moveTo(0, py(0)); g.lineTo(canvas.width, py(0));
  g.stroke();
}

function drawColorScale() {
  const canvas = $("color-scale");
  const g = canvas.getContext("2d");
  for (let i = 0; i < canvas.width; i++) {
    g.fillStyle = css(color((i / (canvas.width - 1)) * 2 - 1));
    g.fillRect(i, 0, 1, canvas.height);
  }
}

// A line chart of one or more series over the whole canvas. Each series has
// values and, optionally, their x positions (at); gaps where a value is not finite.
function lineChart(canvas, series) {
  const g = canvas.getContext("2d");
  g.clearRect(0, 0, canvas.width, canvas.height);
  let largest = -Infinity, low = 0, length = 1;
  for (const s of series) {
    s.values.forEach((v, i) => {
      if (!Number.isFinite(v)) return;
      largest = Math.max(largest, v);
      low = Math.min(low, v);
      length = Math.max(length, s.at ? s.at[i] : i);
    });
  }
  if (largest === -Infinity) return;
  // a little headroom, so that a flat line sits below the top
  const high = largest > low ? low + (largest - low) * 1.1 : low + (Math.abs(low) || 1);
  const pad = 4;
  for (const s of series) {
    g.beginPath();
    g.strokeStyle = s.color;
    g.lineWidth = s.width || 1.5;
    let drawing = false;
    s.values.forEach((v, i) => {
      if (!Number.isFinite(v)) { drawing = false; return; }
      const x = pad + ((s.at ? s.at[i] : i) / length) * (canvas.width - 2 * pad);
      const y = canvas.height - pad - ((v - low) / (high - low)) * (canvas.height - 2 * pad);
      if (drawing) g.lineTo(x, y); else g.moveTo(x, y);
      drawing = true;
    });
    g.stroke();
  }
  g.fillStyle = "#666";
  g.font = "10px system-ui, sans-serif";
  g.textAlign = "right";
  g.fillText(`max ${largest.toPrecision(2)}`, canvas.width - 2, 10);
  g.textAlign = "left";
}

// At most about `count` evenly spread entries of values, with their positions (1-based).
function thinned(values, count = 600) {
  const every = Math.max(1, Math.ceil(values.length / count));
  const at = [], kept = [];
  for (let i = 0; i < values.length; i += every) { at.push(i + 1); kept.push(values[i]); }
  return { values: kept, at };
}

function drawLosses() {
  const history = state.frame.history;
  lineChart($("losses"), [
    { values: history.train_loss, at: history.epochs, color: "#999" },
    { values: history.test_loss, at: history.epochs, color: "#222" },
  ]);
}

// The schedule's whole curve (light), and the rates used so far (dark) over it.
function drawLearningRate() {
  const history = state.frame ? state.frame.history : { learning_rate: [], learning_rate_steps: [] };
  const preview = state.schedule || [];
  const steps = state.frame ? state.frame.step : 0;
  if (steps > preview.length && preview.length < 100000 && !state.previewAsked) {
    state.previewAsked = true;  // the schedule further on: twice the steps taken
    send("schedule_preview", { steps: Math.min(100000, 2 * steps) });
  }
  lineChart($("learning-rate"), [
    { ...thinned(preview), color: "#9cc9e6", width: 3 },
    { values: history.learning_rate, at: history.learning_rate_steps, color: BLUE_CSS },
  ]);
}
const BLUE_CSS = css(BLUE);

function drawDiagnostics() {
  const body = document.querySelector("#diagnostics tbody");
  body.innerHTML = "";
  state.frame.diagnostics.forEach((entry) => {
    const row = document.createElement("tr");
    const deadValue = entry.dead_fraction;
    const cells = [
      entry.layer.replace("_", " "),
      Number.isFinite(entry.gradient_norm) ? entry.gradient_norm.toExponential(2) : "–",
      deadValue === null || deadValue === undefined ? "" : `${Math.round(deadValue * 100)}%`,
    ];
    for (const text of cells) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.appendChild(cell);
    }
    if (deadValue > 0.5) row.lastChild.classList.add("warn");
    body.appendChild(row);
  });
}

// --- the network ----------------------------------------------------------------------
const NODE = 34;

function featureGrid(name, size, bounds) {
  const [x1min, x1max, x2min, x2max] = bounds;
  const values = new Float64Array(size * size);
  const f = {
    x1: (a) => a, x2: (a, b) => b, "x1^2": (a) => a * a, "x2^2": (a, b) => b * b,
    "x1*x2": (a, b) => a * b, "sin(x1)": (a) => Math.sin(a), "sin(x2)": (a, b) => Math.sin(b),
  }[name] || (() => 0);
  for (let j = 0; j < size; j++) {
    for (let i = 0; i < size; i++) {
      const a = x1min + ((i + 0.5) / size) * (x1max - x1min);
      const b = x2max - ((j + 0.5) / size) * (x2max - x2min);
      values[j * size + i] = f(a, b);
    }
  }
  return values;
}

function maxAbs(values) {
  let m = 0;
  for (const v of values) if (Number.isFinite(v)) m = Math.max(m, Math.abs(v));
  return m || 1;
}

function drawNetwork() {
  const canvas = $("network");
  const g = canvas.getContext("2d");
  g.clearRect(0, 0, canvas.width, canvas.height);
  const frame = state.frame;
  const features = state.catalog.features;
  const chosen = state.config.features;
  const layers = state.config.hidden_layers;
  const columns = layers.length + 2;
  const columnX = (c) => 62 + (c / (columns - 1)) * (canvas.width - 90 - NODE);
  const rowY = (r, count) => {
    const spacing = Math.min(NODE + 16, (canvas.height - 20) / Math.max(count, 1));
    return 10 + r * spacing;
  };
  const bounds = frame.boundary.bounds;

  // nodes: [column][index] -> {x, y}
  const nodes = [features.map((name, r) => ({ x: columnX(0), y: rowY(r, features.length), name }))];
  layers.forEach((units, c) => {
    nodes.push(Array.from({ length: units }, (_, r) => ({ x: columnX(c + 1), y: rowY(r, units) })));
  });
  nodes.push([{ x: columnX(columns - 1), y: rowY(0, 1) }]);

  // edges, from the frame's kernels: layer l maps column l's nodes to column l + 1's
  state.edges = [];
  const sources = (l) => (l === 0 ? nodes[0].filter((n) => chosen.includes(n.name)) : nodes[l]);
  frame.weights.forEach(({ kernel }, l) => {
    const from = sources(l);
    const to = nodes[l + 1];
    const scale = 3 / Math.max(0.5, maxAbs(kernel.flat()));
    kernel.forEach((row, r) => row.forEach((w, c) => {
      if (!from[r] || !to[c]) return;
      const edge = {
        x0: from[r].x + NODE, y0: from[r].y + NODE / 2,
        x1: to[c].x, y1: to[c].y + NODE / 2, layer: l, row: r, column: c,
      };
      state.edges.push(edge);
      g.beginPath();
      g.moveTo(edge.x0, edge.y0);
      const middle = (edge.x0 + edge.x1) / 2;
      g.bezierCurveTo(middle, edge.y0, middle, edge.y1, edge.x1, edge.y1);
      g.strokeStyle = css(w >= 0 ? BLUE : ORANGE, 0.85);
      g.lineWidth = Math.max(0.4, Math.min(6, Math.abs(w) * scale));
      g.stroke();
    }));
  });

  // feature nodes: their own heat maps, dimmed when not used
  state.featureNodes = [];
  nodes[0].forEach((node) => {
    const used = chosen.includes(node.name);
    g.globalAlpha = used ? 1 : 0.3;
    const values = featureGrid(node.name, 20, bounds);
    const m = maxAbs(values);
    paintGrid(g, values, 20, (v) => v / m, node.x, node.y, NODE, NODE);
    g.globalAlpha = 1;
    g.strokeStyle = used ? "#183d4e" : "#bbb";
    g.lineWidth = used ? 2 : 1;
    g.strokeRect(node.x, node.y, NODE, NODE);
    g.fillStyle = used ? "#222" : "#999";
    g.font = "12px system-ui, sans-serif";
    g.textAlign = "right";
    g.fillText(featureLabel(node.name), node.x - 5, node.y + NODE / 2 + 4);
    g.textAlign = "left";
    state.featureNodes.push({ ...node, size: NODE });
  });

  // hidden neurons: their outputs over the plane
  frame.neurons.layers.forEach((layer, l) => layer.forEach((values, u) => {
    const node = nodes[l + 1] && nodes[l + 1][u];
    if (!node) return;
    const m = maxAbs(values);
    paintGrid(g, values, frame.neurons.grid, (v) => v / m, node.x, node.y, NODE, NODE);
    g.strokeStyle = "#555";
    g.lineWidth = 1;
    g.strokeRect(node.x, node.y, NODE, NODE);
  }));

  // the output node
  const out = nodes[nodes.length - 1][0];
  paintGrid(g, frame.boundary.values, frame.boundary.grid, signed, out.x, out.y, NODE, NODE);
  g.strokeStyle = "#222";
  g.strokeRect(out.x, out.y, NODE, NODE);
  placeUnitControls(nodes.slice(1, -1).map((column) => column[0].x + NODE / 2), canvas);
}

function featureLabel(name) {
  return { x1: "x₁", x2: "x₂", "x1^2": "x₁²", "x2^2": "x₂²", "x1*x2": "x₁x₂",
    "sin(x1)": "sin(x₁)", "sin(x2)": "sin(x₂)" }[name] || name;
}

// The +/- buttons above each hidden layer.
function placeUnitControls(centres, canvas) {
  const box = $("unit-controls");
  const ratio = canvas.clientWidth / canvas.width;
  box.innerHTML = "";
  centres.forEach((x, l) => {
    const units = state.config.hidden_layers[l];
    const holder = document.createElement("div");
    holder.className = "units";
    holder.style.left = `${x * ratio - 30}px`;
    holder.style.width = "60px";
    const buttons = document.createElement("div");
    const add = document.createElement("button");
    add.textContent = "+";
    add.title = "One more neuron";
    add.onclick = () => change({
      hidden_layers: state.config.hidden_layers.map((n, i) => (i === l ? n + 1 : n)),
    });
    const remove = document.createElement("button");
    remove.textContent = "−";
    remove.title = "One neuron fewer";
    remove.onclick = () => change({
      hidden_layers: state.config.hidden_layers.map((n, i) => (i === l ? Math.max(1, n - 1) : n)),
    });
    add.disabled = units >= state.catalog.limits.units;
    remove.disabled = units <= 1;
    buttons.append(add, remove);
    holder.append(buttons, `${units} neuron${units === 1 ? "" : "s"}`);
    box.appendChild(holder);
  });
}

// A click on a feature toggles it; a click near an edge explains its next update.
function clickNetwork(event) {
  const canvas = $("network");
  const rect = canvas.getBoundingClientRect();
  const x = ((event.clientX - rect.left) / rect.width) * canvas.width;
  const y = ((event.clientY - rect.top) / rect.height) * canvas.height;
  const feature = state.featureNodes.find(
    (n) => x >= n.x && x <= n.x + n.size && y >= n.y && y <= n.y + n.size);
  if (feature) {
    const chosen = state.config.features;
    const next = chosen.includes(feature.name)
      ? chosen.filter((name) => name !== feature.name) : [...chosen, feature.name];
    change({ features: state.catalog.features.filter((name) => next.includes(name)) });
    return;
  }
  const edge = nearestEdge(x, y);
  if (edge) {
    $("explain-title").textContent =
      `The next update of layer ${edge.layer + 1}'s weight [${edge.row}, ${edge.column}]`;
    send("explain", { layer: edge.layer, row: edge.row, column: edge.column });
  }
}

function nearestEdge(x, y) {
  let best = null, bestDistance = 6;
  for (const e of state.edges) {
    for (let k = 0; k <= 24; k++) {
      const t = k / 24, s = 1 - t;
      // the cubic Bezier drawn above, sampled
      const middle = (e.x0 + e.x1) / 2;
      const bx = s * s * s * e.x0 + 3 * s * s * t * middle + 3 * s * t * t * middle + t * t * t * e.x1;
      const by = s * s * s * e.y0 + 3 * s * s * t * e.y0 + 3 * s * t * t * e.y1 + t * t * t * e.y1;
      const d = Math.hypot(bx - x, by - y);
      if (d < bestDistance) { bestDistance = d; best = e; }
    }
  }
  return best;
}

wireControls();
connect();
window.addEventListener("resize", scheduleDraw);
