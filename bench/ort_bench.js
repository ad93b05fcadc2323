#!/usr/bin/env node
// Latency of one ONNX model under onnxruntime (npm onnxruntime-node, CPU), the
// peer resnetc is measured against in bench/run_bench.sh.
//
//   node bench/ort_bench.js [--threads N] [--runs R] [--warmup W] MODEL.onnx IN.npy [...]
//
// The session is created with every graph optimization ('all': constant
// folding, Conv+BatchNorm and Conv+Add+Relu fusion, the NCHWc layout),
// intraOpNumThreads N (default 1), interOpNumThreads 1 and sequential
// execution; other settings are onnxruntime's defaults (its intra-op threads
// spin while waiting for work). W warm-up runs (default 3), then R timed runs
// (default 20) of session.run on the same inputs; prints
//   median_ms=<ms>
// the same line as the driver resnetc generates (`NAME --bench N IN.npy`),
// then cpu_ms_per_run=<ms> (the process's user + system CPU time over the
// timed runs, all threads, divided by R: with one thread, the latency that
// time-sharing with other processes does not inflate) and
// ort_version=<version> (the onnxruntime-node package's version).
//
// onnxruntime-node is looked up next to this file, then in tests/e2e/ (where
// the end-to-end tests install it: `npm ci` there). Inputs are float32 .npy
// files in graph-input order. Exit status: 0 ok, 1 bad model or input, 2 usage.
//
// --profile turns on onnxruntime's profiler and prints, instead, a table
// like the one the driver resnetc generates prints for --profile: per node
// (after onnxruntime's fusions, in graph order) its op and the median of
// its kernel times over the timed runs, with its share; then the total.
// Put side by side with `NAME --profile`, it shows which layers either
// side does faster.
'use strict';

const fs = require('fs');
const path = require('path');

const PROG = path.basename(process.argv[1]);

function fail(msg, status = 1) {
  process.stderr.write(`${PROG}: error: ${msg}\n`);
  process.exit(status);
}

function usage(status) {
  (status ? process.stderr : process.stdout).write(
    `usage: ${PROG} [--threads N] [--runs R] [--warmup W] [--profile] MODEL.onnx IN.npy [...]\n` +
    '  prints median_ms=<ms> over R timed runs (default 20) after W warm-up runs (default 3)\n' +
    '  with intra-op threads N (default 1), all graph optimizations;\n' +
    '  --profile: per-node median kernel times instead\n');
  process.exit(status);
}

function loadOrt() {
  const where = [__dirname, path.join(__dirname, '..', 'tests', 'e2e')];
  let resolved;
  try {
    resolved = require.resolve('onnxruntime-node', { paths: where });
  } catch (e) {
    fail("cannot find onnxruntime-node (run 'npm ci' in tests/e2e)");
  }
  const ort = require(resolved);
  let version = 'unknown';
  try {
    const dir = path.dirname(require.resolve('onnxruntime-node/package.json', { paths: where }));
    version = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
  } catch (e) { /* keep 'unknown' */ }
  return { ort, version };
}

// Little-endian float32 C-order .npy (versions 1-3).
function readNpy(file) {
  let buf;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    fail(`${file}: ${e.message}`);
  }
  const magic = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);
  if (buf.length < 10 || !buf.subarray(0, 6).equals(magic)) fail(`${file}: not a .npy file`);
  const major = buf[6];
  let headerLen, offset;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    offset = 10;
  } else if ((major === 2 || major === 3) && buf.length >= 12) {
    headerLen = buf.readUInt32LE(8);
    offset = 12;
  } else {
    fail(`${file}: unsupported or truncated .npy (version ${major})`);
  }
  if (buf.length < offset + headerLen) fail(`${file}: truncated .npy header`);
  const header = buf.toString('latin1', offset, offset + headerLen);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) fail(`${file}: malformed .npy header`);
  if (descr[1] !== '<f4') fail(`${file}: dtype ${descr[1]}, expected float32 ('<f4')`);
  if (fortran[1] !== 'False') fail(`${file}: Fortran-order arrays are not supported`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) fail(`${file}: bad shape (${shape[1]})`);
  const count = dims.reduce((a, b) => a * b, 1);
  const start = offset + headerLen;
  if (buf.length - start !== 4 * count) fail(`${file}: ${buf.length - start} data bytes, shape (${dims}) needs ${4 * count}`);
  const data = new Float32Array(count);
  Buffer.from(data.buffer).set(buf.subarray(start));
  return { dims, data };
}

function count(name, v, min) {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < min) fail(`${name} needs an integer >= ${min}`, 2);
  return n;
}

function median(v) {
  const t = [...v].sort((a, b) => a - b), mid = t.length >> 1;
  return t.length % 2 ? t[mid] : (t[mid - 1] + t[mid]) / 2;
}

// The profiler's JSON (one file in dir, removed after): per node, its
// kernel times in run order; the first `skip` runs are the warm-up.
function printProfile(dir, skip) {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
  if (files.length !== 1) fail(`onnxruntime wrote ${files.length} profile files`);
  const file = path.join(dir, files[0]);
  const events = JSON.parse(fs.readFileSync(file, 'utf8'));
  fs.rmSync(dir, { recursive: true, force: true });
  const nodes = new Map();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const name = e.name.slice(0, -'_kernel_time'.length);
    if (!nodes.has(name)) nodes.set(name, { op: (e.args && e.args.op_name) || '?', us: [] });
    nodes.get(name).us.push(e.dur);
  }
  const rows = [...nodes].map(([name, n]) => [name, n.op, median(n.us.slice(skip)) / 1e3]);
  const total = rows.reduce((a, r) => a + r[2], 0);
  const wn = Math.min(60, Math.max(4, ...rows.map((r) => r[0].length)));
  const wo = Math.max(2, ...rows.map((r) => r[1].length));
  process.stdout.write(`${'node'.padEnd(wn)}  ${'op'.padEnd(wo)} ${'ms'.padStart(9)} ${'share'.padStart(7)}\n`);
  for (const [name, op, ms] of rows) {
    process.stdout.write(`${name.slice(-wn).padEnd(wn)}  ${op.padEnd(wo)} ${ms.toFixed(3).padStart(9)} ` +
      `${(100 * ms / total).toFixed(1).padStart(6)}%\n`);
  }
  process.stdout.write(`total: ${total.toFixed(3)} ms per run (sum of the nodes' medians)\n`);
}

async function main() {
  const args = process.argv.slice(2);
  let threads = 1, runs = 20, warmup = 3, profile = false;
  const files = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--help' || a === '-h') usage(0);
    else if (a === '--threads') threads = count(a, args[++i], 1);
    else if (a === '--runs') runs = count(a, args[++i], 1);
    else if (a === '--warmup') warmup = count(a, args[++i], 0);
    else if (a === '--profile') profile = true;
    else if (a.startsWith('--')) fail(`unknown option '${a}'`, 2);
    else files.push(a);
  }
  if (files.length < 2) usage(2);

  const { ort, version } = loadOrt();
  const model = files[0];
  const profDir = profile ? fs.mkdtempSync(path.join(require('os').tmpdir(), 'ort-profile-')) : null;
  let session;
  try {
    session = await ort.InferenceSession.create(model, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      ...(profile ? { enableProfiling: true, profileFilePrefix: path.join(profDir, 'p') } : {}),
    });
  } catch (e) {
    fail(`${model}: ${e.message}`);
  }
  if (files.length - 1 !== session.inputNames.length) {
    fail(`${model} has ${session.inputNames.length} input(s); got ${files.length - 1} .npy file(s)`, 2);
  }
  const feeds = {};
  session.inputNames.forEach((name, i) => {
    const { dims, data } = readNpy(files[1 + i]);
    feeds[name] = new ort.Tensor('float32', data, dims);
  });

  try {
    for (let i = 0; i < warmup; i++) await session.run(feeds);
  } catch (e) {
    fail(`${model}: ${e.message}`);
  }
  const times = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const cpu = process.cpuUsage(cpu0);
  if (profile) {
    session.endProfiling();
    printProfile(profDir, warmup);
    return;
  }
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  const median = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
  const cpuMs = (cpu.user + cpu.system) / 1e3 / runs;
  process.stdout.write(`median_ms=${median.toFixed(3)}\ncpu_ms_per_run=${cpuMs.toFixed(3)}\n` +
    `ort_version=${version}\n`);
}

// a reader that stops early (`| head`) is not an error
process.stdout.on('error', (e) => process.exit(e.code === 'EPIPE' ? 0 : 1));
main().catch((e) => fail(e.stack || String(e)));
