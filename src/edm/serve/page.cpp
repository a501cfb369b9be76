// The page of `edm serve`: two settings side by side on the same seeds; each
// streams its denoised estimates step by step and ends with PNGs that carry
// their parameters. Query parameters fill it in and start it:
// ?seeds=0-3&A={"sampler":"edm","steps":18}&B={...}&run=1
#include "edm/serve/server.h"

namespace edm::serve {

const std::string& page_html() {
  static const std::string html = R"HTML(<!doctype html>
<html><head><meta charset="utf-8"><title>edm</title>
<style>
body { font-family: sans-serif; margin: 1em; color: #222; }
.panels { display: flex; gap: 1.5em; margin-top: 1em; }
.panel { border: 1px solid #bbb; border-radius: 6px; padding: 0.8em; flex: 1; }
.panel h2 { margin: 0 0 0.5em 0; font-size: 1.1em; }
.row { margin: 3px 0; }
.row label { display: inline-block; min-width: 7em; }
.row input, .row select { width: 9em; }
img { width: 72px; height: 72px; image-rendering: pixelated; margin: 2px; border: 1px solid #ddd; }
.status { font-family: monospace; margin: 0.5em 0; min-height: 1.2em; }
.final a { font-size: 0.8em; display: block; text-align: center; }
.final figure { display: inline-block; margin: 2px; }
</style></head>
<body>
<h1>edm: one design choice at a time</h1>
<div>Seeds <input id="seeds" value="0-3"> <button id="run">Generate both</button> <span id="msg"></span></div>
<div class="panels"><div class="panel" id="A"></div><div class="panel" id="B"></div></div>
<script>
"use strict";
let INFO = null;
const NOISE = ["steps", "sigma_min", "sigma_max", "rho"];
function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const k of kids) e.append(k);
  return e;
}
function row(label, input) { return h("div", {class: "row"}, h("label", {}, label), input); }
function select(id, names, value) {
  const s = h("select", {id});
  for (const n of names) s.append(h("option", {value: n}, n));
  if (value !== undefined) s.value = value;
  return s;
}
function shown(v) { return v === null || v === undefined ? "" : String(v); }
function samplerOptions(name) {
  if (name === "auto") return NOISE.concat(["S_churn", "S_min", "S_max", "S_noise", "solver", "disc", "schedule", "scaling", "alpha"]);
  return NOISE.concat(INFO.samplers.find(s => s.name === name).options);
}
function buildOptions(id, keep) {
  const box = document.getElementById(id + "-opts");
  box.innerHTML = "";
  for (const k of samplerOptions(document.getElementById(id + "-sampler").value)) {
    const v = k in keep ? keep[k] : shown(INFO.defaults[k]);
    box.append(row(k, h("input", {id: id + "-opt-" + k, "data-opt": k, value: v})));
  }
}
function buildPanel(id) {
  const p = document.getElementById(id);
  p.innerHTML = "";
  p.append(h("h2", {}, "Setting " + id));
  p.append(row("model", select(id + "-net", INFO.models.map(m => m.name))));
  p.append(row("sampler", select(id + "-sampler", ["auto"].concat(INFO.samplers.map(s => s.name)), "edm")));
  p.append(row("class", h("input", {id: id + "-class", placeholder: "random"})));
  p.append(row("guidance", h("input", {id: id + "-guidance", placeholder: "none"})));
  p.append(h("div", {id: id + "-opts"}));
  p.append(h("div", {class: "status", id: id + "-status"}));
  p.append(h("div", {}, "denoised estimate D(x; sigma) at the last step:"));
  p.append(h("div", {id: id + "-live"}));
  p.append(h("div", {}, "images (PNG with parameters):"));
  p.append(h("div", {class: "final", id: id + "-final"}));
  document.getElementById(id + "-sampler").onchange = () => buildOptions(id, currentOptions(id));
  buildOptions(id, {});
}
function currentOptions(id) {
  const out = {};
  for (const e of document.querySelectorAll("#" + id + "-opts input")) out[e.dataset.opt] = e.value;
  return out;
}
function value(text) {
  if (text === "inf" || text === "-inf") return text;
  const n = Number(text);
  return text.trim() !== "" && !isNaN(n) ? n : text;
}
function request(id) {
  const r = {net: document.getElementById(id + "-net").value, sampler: document.getElementById(id + "-sampler").value};
  for (const k of ["class", "guidance"]) {
    const t = document.getElementById(id + "-" + k).value.trim();
    if (t !== "") r[k] = Number(t);
  }
  // Only what differs from the defaults, as on a command line (so that "auto"
  // picks the sampler the command line would).
  for (const [k, t] of Object.entries(currentOptions(id)))
    if (t.trim() !== "" && t.trim() !== shown(INFO.defaults[k])) r[k] = value(t);
  return r;
}
function fill(id, fields) {
  const byId = (s) => document.getElementById(id + "-" + s);
  if ("net" in fields) byId("net").value = fields.net;
  if ("sampler" in fields) { byId("sampler").value = fields.sampler; buildOptions(id, {}); }
  for (const k of ["class", "guidance"]) if (k in fields) byId(k).value = shown(fields[k]);
  for (const [k, v] of Object.entries(fields)) {
    const e = byId("opt-" + k);
    if (e) e.value = shown(v);
  }
}
function png(b64) { return "data:image/png;base64," + b64; }
function handle(id, e) {
  const status = document.getElementById(id + "-status");
  if (e.type === "step") {
    status.textContent = "step " + e.step + "/" + e.steps + "  sigma " + e.sigma.toPrecision(4) + "  NFE " + e.nfe;
    const live = document.getElementById(id + "-live");
    e.images.forEach((b, k) => {
      let img = live.children[k];
      if (!img) { img = h("img", {class: "live"}); live.append(img); }
      img.src = png(b);
    });
  } else if (e.type === "done") {
    status.textContent = "done: " + e.sampler + ", NFE " + e.nfe;
    status.dataset.done = "1";
    const fin = document.getElementById(id + "-final");
    fin.innerHTML = "";
    for (const im of e.images) {
      const a = h("a", {href: png(im.png), download: id + "-" + im.seed + ".png"}, "seed " + im.seed + " PNG");
      fin.append(h("figure", {}, h("img", {id: id + "-final-" + im.seed, src: png(im.png)}), a));
    }
  } else if (e.type === "error") {
    status.textContent = "error: " + e.error;
  }
}
// XMLHttpRequest rather than fetch: its progress events hand over the lines
// as they come, and headless browsers wait for it to finish.
function run(id, seeds) {
  const status = document.getElementById(id + "-status");
  status.textContent = "waiting";
  delete status.dataset.done;
  document.getElementById(id + "-live").innerHTML = "";
  document.getElementById(id + "-final").innerHTML = "";
  const body = Object.assign(request(id), {seeds, stream: true});
  return new Promise(resolve => {
    const x = new XMLHttpRequest();
    let seen = 0;
    const consume = () => {
      const t = x.responseText;
      for (let i; (i = t.indexOf("\n", seen)) >= 0; seen = i + 1)
        if (i > seen) handle(id, JSON.parse(t.slice(seen, i)));
    };
    x.open("POST", "/api/generate");
    x.setRequestHeader("Content-Type", "application/json");
    x.onprogress = () => { if (x.status === 200) consume(); };
    x.onload = () => {
      if (x.status === 200) consume();
      else status.textContent = "error: " + JSON.parse(x.responseText).error;
      resolve();
    };
    x.onerror = () => { status.textContent = "error: no answer from the server"; resolve(); };
    x.send(JSON.stringify(body));
  });
}
async function runBoth() {
  document.title = "edm: running";
  const seeds = document.getElementById("seeds").value;
  await Promise.all([run("A", seeds), run("B", seeds)]);
  document.title = "edm: done";
}
async function main() {
  INFO = await (await fetch("/api/info")).json();
  buildPanel("A");
  buildPanel("B");
  const q = new URLSearchParams(location.search);
  if (q.has("seeds")) document.getElementById("seeds").value = q.get("seeds");
  for (const id of ["A", "B"]) if (q.has(id)) fill(id, JSON.parse(q.get(id)));
  document.getElementById("run").onclick = runBoth;
  if (q.get("run") === "1") await runBoth();
}
main().catch(e => { document.getElementById("msg").textContent = "error: " + e; });
</script>
</body></html>
)HTML";
  return html;
}

}  // namespace edm::serve
