#!/usr/bin/env node
// Runs an ONNX model in ONNX Runtime (onnxruntime-node, CPU) on inputs from .npy files and writes
// each output as DIR/<output name>.npy (characters outside [A-Za-z0-9_.-] replaced by _, as
// `halfcast run` does).
//
//   node run_ort.js MODEL --input NAME=FILE.npy ... --output-dir DIR
//
// float32 inputs given to a model input declared float16 are rounded to float16 (nearest even),
// so one set of feeds serves a model and its converted version. Exit status: 0 success,
// 2 error (the message says whether loading or running failed).
'use strict';

const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));

// numpy descr -> [ORT type, typed array constructor]
const kNpyTypes = {
  '<f4': ['float32', Float32Array],
  '<f8': ['float64', Float64Array],
  '<f2': ['float16', Uint16Array],
  '<i8': ['int64', BigInt64Array],
  '<i4': ['int32', Int32Array],
  '<i2': ['int16', Int16Array],
  '|i1': ['int8', Int8Array],
  '|u1': ['uint8', Uint8Array],
  '|b1': ['bool', Uint8Array],
  '<u8': ['uint64', BigUint64Array],
  '<u4': ['uint32', Uint32Array],
  '<u2': ['uint16', Uint16Array],
};

function fail(message) {
  process.stderr.write(`run_ort: ${message}\n`);
  process.exit(2);
}

function readNpy(file) {
  const bytes = fs.readFileSync(file);
  if (bytes.length < 10 || bytes.toString('latin1', 0, 6) !== '\x93NUMPY') {
    throw new Error(`${file} is not a .npy file`);
  }
  const major = bytes[6];
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  const header = bytes.toString('latin1', headerStart, headerStart + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header);
  const fortran = /'fortran_order':\s*(True|False)/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) throw new Error(`${file}: bad .npy header ${header}`);
  if (fortran[1] === 'True') throw new Error(`${file}: Fortran order is not supported`);
  const type = kNpyTypes[descr[1]];
  if (!type) throw new Error(`${file}: unsupported dtype ${descr[1]}`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const start = headerStart + headerLength;
  const data = new type[1](count);
  const expected = count * data.BYTES_PER_ELEMENT;
  if (bytes.length - start < expected) throw new Error(`${file}: truncated data`);
  Buffer.from(data.buffer).set(bytes.subarray(start, start + expected));
  return {type: type[0], data, dims};
}

function writeNpy(file, tensor) {
  const entry = Object.entries(kNpyTypes).find(([, t]) => t[0] === tensor.type);
  if (!entry) throw new Error(`output type ${tensor.type} cannot be written as .npy`);
  const dims = tensor.dims.map(Number);
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${entry[0]}', 'fortran_order': False, 'shape': ${shape}, }`;
  // Version 1.0: magic, version, uint16 header length; data aligned to 64 bytes.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  let data = tensor.data;
  if (tensor.type === 'bool') data = Uint8Array.from(data, (v) => (v ? 1 : 0));
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([prefix, Buffer.from(header, 'latin1'), body]));
}

// Rounds float32 to float16 bits, nearest even (same rule as halfcast's numerics).
function floatToHalfBits(value) {
  const f32 = new Float32Array([value]);
  const x = new Uint32Array(f32.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | (mantissa ? 0x7e00 | (mantissa >>> 13) : 0x7c00);
  let e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mantissa | 0x800000;
    const shift = 14 - e;
    let half = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (half & 1))) half += 1;
    return sign | half;
  }
  let half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1))) half += 1;
  return sign | half;
}

function sanitize(name) {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_');
}

function parseArgs(argv) {
  const args = {model: null, inputs: [], outputDir: null};
  for (let i = 0; i < argv.length; ++i) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--input') {
      const spec = value();
      const eq = spec.indexOf('=');
      if (eq <= 0) fail(`--input expects NAME=FILE, got ${spec}`);
      args.inputs.push([spec.slice(0, eq), spec.slice(eq + 1)]);
    } else if (arg === '--output-dir') {
      args.outputDir = value();
    } else if (arg.startsWith('-')) {
      fail(`unknown flag ${arg}`);
    } else if (args.model === null) {
      args.model = arg;
    } else {
      fail(`unexpected argument ${arg}`);
    }
  }
  if (args.model === null || args.outputDir === null) {
    fail('usage: run_ort.js MODEL --input NAME=FILE.npy ... --output-dir DIR');
  }
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  let session;
  try {
    session = await ort.InferenceSession.create(args.model, {
      executionProviders: ['cpu'],
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
    });
  } catch (e) {
    fail(`ONNX Runtime cannot load ${args.model}: ${e.message}`);
  }
  const declared = {};
  for (const meta of session.inputMetadata || []) {
    if (meta.isTensor) declared[meta.name] = meta.type;
  }
  const feeds = {};
  for (const [name, file] of args.inputs) {
    let npy;
    try {
      npy = readNpy(file);
    } catch (e) {
      fail(e.message);
    }
    if (npy.type === 'float32' && declared[name] === 'float16') {
      npy = {type: 'float16', data: Uint16Array.from(npy.data, floatToHalfBits), dims: npy.dims};
    }
    feeds[name] = new ort.Tensor(npy.type, npy.data, npy.dims);
  }
  let results;
  try {
    results = await session.run(feeds);
  } catch (e) {
    fail(`ONNX Runtime failed to run ${args.model}: ${e.message}`);
  }
  fs.mkdirSync(args.outputDir, {recursive: true});
  for (const name of session.outputNames) {
    writeNpy(path.join(args.outputDir, sanitize(name) + '.npy'), results[name]);
  }
}

main().catch((e) => fail(e.stack || String(e)));
