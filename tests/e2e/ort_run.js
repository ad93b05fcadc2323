#!/usr/bin/env node
// Reference outputs for the end-to-end tests: run an ONNX model with onnxruntime
// (CPU, one intra-op thread, all graph optimizations) on float32 .npy inputs.
//
//   node ort_run.js MODEL.onnx IN0.npy [IN1.npy ...] OUT0.npy [OUT1.npy ...]
//   node ort_run.js --bench N MODEL.onnx IN0.npy [...]     prints median_ms=<ms>
//   node ort_run.js --no-optimize MODEL.onnx ...           graph optimizations off
//
// --no-optimize runs the model's own arithmetic: a QDQ model's pairs as the
// float round trips they describe, instead of onnxruntime's fused int8
// kernels (whose 16-bit saturating sums differ from the exact ones).
//
// Inputs are taken in graph-input order, outputs written in graph-output order,
// the same convention as the driver resnetc generates. Only little-endian float32
// C-order .npy files are read or written. Exit status: 0 ok, 1 bad input, 2 usage.
'use strict';

const fs = require('fs');
const path = require('path');

const PROG = path.basename(process.argv[1]);

class UserError extends Error {}

function fail(msg, status = 1) {
  process.stderr.write(`${PROG}: error: ${msg}\n`);
  process.exit(status);
}

// .npy: "\x93NUMPY", major, minor, header length (u16 in v1, u32 in v2/v3),
// then a Python dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (1, 10), }
function readNpy(file) {
  let buf;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new UserError(`${file}: ${e.message}`);
  }
  const magic = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);
  if (buf.length < 10 || !buf.subarray(0, 6).equals(magic)) throw new UserError(`${file}: not a .npy file`);
  const major = buf[6];
  let headerLen, offset;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    offset = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) throw new UserError(`${file}: truncated .npy header`);
    headerLen = buf.readUInt32LE(8);
    offset = 12;
  } else {
    throw new UserError(`${file}: unsupported .npy version ${major}.${buf[7]}`);
  }
  if (buf.length < offset + headerLen) throw new UserError(`${file}: truncated .npy header`);
  const header = buf.toString('latin1', offset, offset + headerLen);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) throw new UserError(`${file}: malformed .npy header: ${header.trim()}`);
  if (descr[1] !== '<f4') throw new UserError(`${file}: dtype ${descr[1]}, expected float32 ('<f4')`);
  if (fortran[1] !== 'False') throw new UserError(`${file}: Fortran-order arrays are not supported`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw new UserError(`${file}: bad shape (${shape[1]})`);
  const count = dims.reduce((a, b) => a * b, 1);
  const dataStart = offset + headerLen;
  if (buf.length - dataStart !== 4 * count) {
    throw new UserError(`${file}: ${buf.length - dataStart} data bytes, shape (${dims}) needs ${4 * count}`);
  }
  // Copy: the data offset is not necessarily 4-byte aligned within the file buffer.
  const data = new Float32Array(count);
  Buffer.from(data.buffer).set(buf.subarray(dataStart));
  return { dims, data };
}

function writeNpy(file, dims, data) {
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(pre);
  pre.writeUInt16LE(header.length, 8);
  const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'),
    Buffer.from(f32.buffer, f32.byteOffset, f32.byteLength)]));
}

async function main() {
  const args = process.argv.slice(2);
  let bench = 0;
  let level = 'all';
  while (args[0] === '--bench' || args[0] === '--no-optimize') {
    if (args[0] === '--no-optimize') {
      level = 'disabled';
      args.splice(0, 1);
      continue;
    }
    bench = Number(args[1]);
    if (!Number.isInteger(bench) || bench < 1) fail('--bench needs a positive integer', 2);
    args.splice(0, 2);
  }
  if (args.length < 2 || args[0] === '--help' || args[0] === '-h') {
    process.stderr.write(`usage: ${PROG} [--no-optimize] MODEL.onnx IN0.npy [...] OUT0.npy [...]\n` +
      `       ${PROG} [--no-optimize] --bench N MODEL.onnx IN0.npy [...]\n`);
    process.exit(args[0] === '--help' || args[0] === '-h' ? 0 : 2);
  }

  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (e) {
    fail(`cannot load onnxruntime-node (run 'npm ci' in ${__dirname}): ${e.message}`);
  }

  const model = args[0];
  let session;
  try {
    session = await ort.InferenceSession.create(model, {
      executionProviders: ['cpu'],
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: level,
    });
  } catch (e) {
    fail(`${model}: ${e.message}`);
  }
  const nIn = session.inputNames.length;
  const nOut = session.outputNames.length;
  const want = bench ? nIn : nIn + nOut;
  if (args.length - 1 !== want) {
    fail(`${model} has ${nIn} input(s) and ${nOut} output(s); got ${args.length - 1} .npy path(s), ` +
      `expected ${want}`, 2);
  }

  const feeds = {};
  for (let i = 0; i < nIn; i++) {
    const { dims, data } = readNpy(args[1 + i]);
    feeds[session.inputNames[i]] = new ort.Tensor('float32', data, dims);
  }

  let results;
  try {
    results = await session.run(feeds);
  } catch (e) {
    fail(`${model}: ${e.message}`);
  }

  if (bench) {
    const times = [];
    for (let i = 0; i < bench; i++) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    const mid = times.length >> 1;
    const median = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
    process.stdout.write(`median_ms=${median.toFixed(3)}\n`);
    return;
  }

  for (let i = 0; i < nOut; i++) {
    const t = results[session.outputNames[i]];
    if (t.type !== 'float32') fail(`${model}: output '${session.outputNames[i]}' is ${t.type}, not float32`);
    writeNpy(args[1 + nIn + i], t.dims, t.data);
  }
}

main().catch((e) => fail(e instanceof UserError ? e.message : (e.stack || String(e))));
