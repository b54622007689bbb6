// The LSD Bridge console page: the sessions list (polled), one watched session's frames and
// numbers (pushed over a WebSocket), its history drawn as small plots, and its controls.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { sessions: [], models: [], key: null, ws: null, session: null, frames: 0 };

// binary frame messages: kind (1 byte: I/O), float64 done-at (s), uint32 frame id, float32 ms, JPEG
function parseFrame(buf) {
  const view = new DataView(buf);
  return {
    kind: String.fromCharCode(view.getUint8(0)),
    doneAt: view.getFloat64(1, true),
    id: view.getUint32(9, true),
    totalMs: view.getFloat32(13, true),
    jpeg: new Blob([buf.slice(17)], { type: "image/jpeg" }),
  };
}

async function draw(canvas, blob) {
  const bitmap = await createImageBitmap(blob);
  if (canvas.width !== bitmap.width || canvas.height !== bitmap.height) {
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
  }
  canvas.getContext("2d").drawImage(bitmap, 0, 0);
  bitmap.close();
}

function fmt(x, digits = 1) {
  return x === null || x === undefined ? "–" : Number(x).toFixed(digits);
}

function renderSessions() {
  const body = document.querySelector("#sessions tbody");
  body.replaceChildren();
  $("no-sessions").hidden = state.sessions.length > 0;
  for (const s of state.sessions) {
    const row = document.createElement("tr");
    row.dataset.key = s.key;
    if (s.key === state.key) row.classList.add("selected");
    for (const text of [s.client, s.input, s.transport, `${s.backend}: ${s.style}`, fmt(s.fps), fmt(s.latency_ms[0], 2), s.frames_dropped]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    row.addEventListener("click", () => watch(s.key));
    body.append(row);
  }
}

async function poll() {
  try {
    const r = await fetch("/api/sessions", { cache: "no-store" });
    if (r.status === 401) { $("runtime-status").textContent = "signed out: open a fresh login URL (lsd-runtime console)"; return; }
    const data = await r.json();
    state.sessions = data.sessions;
    state.models = data.models;
    $("runtime-status").textContent = `${data.sessions.length} session(s)`;
    renderSessions();
    if (state.key && !state.sessions.some((s) => s.key === state.key)) unwatch("the session ended");
  } catch (e) {
    $("runtime-status").textContent = "the runtime does not answer";
  }
}

function fillControls(s) {
  const model = $("model");
  model.replaceChildren();
  const options = ["", ...state.models];
  const current = s.model || "";
  if (current && !options.includes(current)) options.push(current);
  for (const name of options) {
    const o = document.createElement("option");
    o.value = name;
    o.textContent = name || "(from the prompt's words)";
    o.selected = name === current;
    model.append(o);
  }
  $("prompt").value = s.prompt || "";
  $("strength").value = s.strength ?? 1;
  $("strength-value").textContent = fmt(s.strength ?? 1, 2);
  $("seed").value = s.seed ?? "";
  $("steps").value = s.steps ?? "";
  $("glide").value = s.glide ?? "";
  const diffusion = s.backend === "diffusion";
  $("steps").disabled = !diffusion;
  $("glide").disabled = !diffusion;
}

function showNumbers(s) {
  state.session = s;
  $("session-title").textContent = `${s.client} — ${s.session} (${s.transport})`;
  $("numbers").textContent =
    `input ${s.input} · model ${s.model_size} · ${s.backend}: ${s.style} · ` +
    `${fmt(s.fps)} FPS · latency p50 ${fmt(s.latency_ms[0], 2)} ms, p99 ${fmt(s.latency_ms[1], 2)} ms · ` +
    `${s.frames_done} restyled, ${s.frames_dropped} dropped`;
  const url = new URL(s.output_url, location.href).href;
  $("output-url").href = url;
  $("output-url").textContent = url;
  plot($("latency-plot"), s.history, [["p50", "#e0a040"], ["p99", "#8a6a3a"]]);
  plot($("fps-plot"), s.history, [["fps", "#58a6ff"], ["dropped", "#ff7b72"]]);
}

function plot(canvas, history, series) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  if (!history.length) return;
  const max = Math.max(1e-6, ...history.flatMap((p) => series.map(([k]) => p[k] || 0))) * 1.1;
  ctx.font = "10px system-ui";
  ctx.fillStyle = "#9a9caa";
  ctx.fillText(fmt(max, max < 10 ? 2 : 0), 4, 11);
  const n = Math.max(60, history.length);  // seconds across: at least one minute, at most five
  for (const [key, colour] of series) {
    ctx.strokeStyle = colour;
    ctx.beginPath();
    history.forEach((p, i) => {
      const x = w - (history.length - 1 - i) * (w / n);
      const y = h - (p[key] || 0) / max * (h - 14);
      i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    });
    ctx.stroke();
  }
}

function unwatch(why) {
  if (state.ws) state.ws.close();
  state.ws = null;
  state.key = null;
  $("session-panel").hidden = true;
  if (why) $("runtime-status").textContent = why;
}

function watch(key) {
  if (state.key === key) return;
  unwatch();
  state.key = key;
  const s = state.sessions.find((x) => x.key === key);
  $("session-panel").hidden = false;
  if (s) { fillControls(s); showNumbers(s); }
  renderSessions();
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/${key}`);
  ws.binaryType = "arraybuffer";
  ws.onmessage = async (event) => {
    if (typeof event.data === "string") {
      const msg = JSON.parse(event.data);
      if (msg.type === "session") showNumbers(msg.session);
      return;
    }
    const f = parseFrame(event.data);
    state.frames += 1;
    await draw(f.kind === "I" ? $("input-view") : $("output-view"), f.jpeg);
    if (f.kind === "O") document.body.dataset.lastFrame = String(f.id);
  };
  ws.onclose = () => { if (state.ws === ws) $("runtime-status").textContent = "the frame stream closed"; };
  state.ws = ws;
}

$("strength").addEventListener("input", () => { $("strength-value").textContent = fmt($("strength").value, 2); });
$("controls").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!state.key) return;
  const body = { model: $("model").value, prompt: $("prompt").value, strength: Number($("strength").value) };
  if ($("seed").value !== "") body.seed = Number($("seed").value);
  if (!$("steps").disabled && $("steps").value !== "") body.steps = Number($("steps").value);
  if (!$("glide").disabled && $("glide").value !== "") body.glide = Number($("glide").value);
  const result = $("apply-result");
  result.className = "";
  result.textContent = "applying…";
  const r = await fetch(`/api/sessions/${state.key}/style`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const answer = await r.json();
  if (answer.ok) {
    result.className = "ok";
    result.textContent = `applied: ${answer.style_set.backend}: ${answer.style_set.style}`;
  } else {
    result.className = "error";
    result.textContent = answer.error;
  }
});

poll();
setInterval(poll, 1000);
