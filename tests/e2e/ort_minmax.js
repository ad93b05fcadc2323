#!/usr/bin/env node
// Calibration ranges for make_qdq.py: run an ONNX model with onnxruntime
// (CPU, all graph optimizations) over a stack of calibration inputs and record,
// for the model's input and every float32 output, the smallest and largest
// value seen over all runs (MinMax calibration).
//
//   node ort_minmax.js [--threads N] [--batch B] MODEL.onnx CAL.npy OUT.json
//
// CAL.npy holds K samples stacked on axis 0 (float32, C order); they are fed
// B rows at a time (B: the model's batch size, default 1; K must be a multiple
// of B). make_qdq.py exposes the tensors it needs ranges for as extra graph
// outputs before calling this. The model must have exactly one input.
//
// OUT.json: {"samples": K, "batch": B, "runs": K/B, "ort_version": "...",
//            "ranges": {"TENSOR": [min, max], ...}}
// NaNs are skipped; a tensor with no finite value gets null. A progress line
// per run goes to stderr. Exit status: 0 ok, 1 bad model or input, 2 usage.
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
    `usage: ${PROG} [--threads N] [--batch B] MODEL.onnx CAL.npy OUT.json\n` +
    '  min and max of the input and of every float32 output over the samples of CAL.npy,\n' +
    '  fed B rows (default 1) at a time with N intra-op threads (default 1)\n');
  process.exit(status);
}

function count(name, v) {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < 1) fail(`${name} needs a positive integer`, 2);
  return n;
}

// Little-endian float32 C-order .npy, versions 1-3.
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
  const n = dims.reduce((a, b) => a * b, 1);
  const start = offset + headerLen;
  if (buf.length - start !== 4 * n) fail(`${file}: ${buf.length - start} data bytes, shape (${dims}) needs ${4 * n}`);
  const data = new Float32Array(n);
  Buffer.from(data.buffer).set(buf.subarray(start));
  return { dims, data };
}

// Folds the values of `data` into the running [min, max] of `name`.
function accumulate(ranges, name, data) {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const r = ranges.get(name);
  if (!r) ranges.set(name, [lo, hi]);
  else {
    if (lo < r[0]) r[0] = lo;
    if (hi > r[1]) r[1] = hi;
  }
}

async function main() {
  const args = process.argv.slice(2);
  let threads = 1, batch = 1;
  const files = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--help' || a === '-h') usage(0);
    else if (a === '--threads') threads = count(a, args[++i]);
    else if (a === '--batch') batch = count(a, args[++i]);
    else if (a.startsWith('--')) fail(`unknown option '${a}'`, 2);
    else files.push(a);
  }
  if (files.length !== 3) usage(2);
  const [model, calFile, outFile] = files;

  const where = [__dirname];
  let ort, version = 'unknown';
  try {
    ort = require(require.resolve('onnxruntime-node', { paths: where }));
  } catch (e) {
    fail(`cannot load onnxruntime-node (run 'npm ci' in ${__dirname}): ${e.message}`);
  }
  try {
    const dir = path.dirname(require.resolve('onnxruntime-node/package.json', { paths: where }));
    version = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
  } catch (e) { /* keep 'unknown' */ }

  const cal = readNpy(calFile);
  if (cal.dims.length < 1 || cal.dims[0] === 0) fail(`${calFile}: no samples (shape (${cal.dims}))`);
  const samples = cal.dims[0];
  if (samples % batch !== 0) fail(`${calFile}: ${samples} samples is not a multiple of the batch size ${batch}`);
  const runs = samples / batch;
  const rowLen = cal.data.length / samples;
  const runDims = [batch, ...cal.dims.slice(1)];

  let session;
  try {
    session = await ort.InferenceSession.create(model, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
    });
  } catch (e) {
    fail(`${model}: ${e.message}`);
  }
  if (session.inputNames.length !== 1) fail(`${model} has ${session.inputNames.length} inputs; one is supported`);
  const inputName = session.inputNames[0];

  const ranges = new Map();
  for (let r = 0; r < runs; r++) {
    const x = cal.data.subarray(r * batch * rowLen, (r + 1) * batch * rowLen);
    accumulate(ranges, inputName, x);
    let results;
    try {
      results = await session.run({ [inputName]: new ort.Tensor('float32', x, runDims) });
    } catch (e) {
      fail(`${model}: run ${r + 1}/${runs}: ${e.message}`);
    }
    for (const name of session.outputNames) {
      const t = results[name];
      if (t.type === 'float32') accumulate(ranges, name, t.data);
    }
    process.stderr.write(`${PROG}: run ${r + 1}/${runs}\n`);
  }

  const out = {};
  for (const [name, [lo, hi]] of ranges) out[name] = lo <= hi ? [lo, hi] : null;
  const json = JSON.stringify({ samples, batch, runs, ort_version: version, ranges: out }, null, 1);
  try {
    fs.writeFileSync(outFile, json + '\n');
  } catch (e) {
    fail(`${outFile}: ${e.message}`);
  }
}

main().catch((e) => fail(e.stack || String(e)));
