#!/usr/bin/env node
// Runs ONNX Runtime's graph optimizer (onnxruntime-node, CPU execution provider) on a model and
// saves the optimized graph, e.g. so a BERT or GPT-2 model gains com.microsoft fused operators
// (FusedMatMul, BiasGelu, FastGelu, SkipLayerNormalization, Attention, ...).
//
//   node optimize.js MODEL OUT.onnx [--level basic|extended]
//
// Prints a JSON line {"model":..., "level":..., "op_types": {"<domain>:<op>": count, ...}} of
// the saved graph's top-level nodes. Exit status: 0 success, 2 error.
'use strict';

const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));

function fail(message) {
  process.stderr.write(`optimize: ${message}\n`);
  process.exit(2);
}

// Minimal protobuf reader: enough of ModelProto -> GraphProto -> NodeProto to count op types.
function readVarint(buf, pos) {
  let value = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const byte = buf[pos++];
    value |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [value, pos];
    shift += 7n;
  }
}

// Calls visit(fieldNumber, wireType, start, end) for each field of the message in buf[begin,end).
function forEachField(buf, begin, end, visit) {
  let pos = begin;
  while (pos < end) {
    let key;
    [key, pos] = readVarint(buf, pos);
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    let start = pos;
    if (wire === 0) {
      [, pos] = readVarint(buf, pos);
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === 5) {
      pos += 4;
    } else if (wire === 2) {
      let length;
      [length, pos] = readVarint(buf, pos);
      start = pos;
      pos += Number(length);
    } else {
      throw new Error(`unsupported wire type ${wire}`);
    }
    visit(field, wire, start, pos);
  }
}

function countOpTypes(file) {
  const buf = fs.readFileSync(file);
  const counts = {};
  forEachField(buf, 0, buf.length, (field, wire, start, end) => {
    if (field !== 7 || wire !== 2) return;  // ModelProto.graph
    forEachField(buf, start, end, (gField, gWire, gStart, gEnd) => {
      if (gField !== 1 || gWire !== 2) return;  // GraphProto.node
      let opType = '';
      let domain = '';
      forEachField(buf, gStart, gEnd, (nField, nWire, nStart, nEnd) => {
        if (nField === 4) opType = buf.toString('utf8', nStart, nEnd);  // NodeProto.op_type
        if (nField === 7) domain = buf.toString('utf8', nStart, nEnd);  // NodeProto.domain
      });
      const key = `${domain}:${opType}`;
      counts[key] = (counts[key] || 0) + 1;
    });
  });
  return counts;
}

async function main() {
  const argv = process.argv.slice(2);
  let level = 'extended';
  const positional = [];
  for (let i = 0; i < argv.length; ++i) {
    if (argv[i] === '--level') {
      if (i + 1 >= argv.length) fail('--level needs a value');
      level = argv[++i];
    } else if (argv[i].startsWith('-')) {
      fail(`unknown flag ${argv[i]}`);
    } else {
      positional.push(argv[i]);
    }
  }
  if (positional.length !== 2 || !['basic', 'extended'].includes(level)) {
    fail('usage: optimize.js MODEL OUT.onnx [--level basic|extended]');
  }
  const [model, out] = positional;
  fs.mkdirSync(path.dirname(path.resolve(out)), {recursive: true});
  if (fs.existsSync(out)) fs.unlinkSync(out);
  try {
    const session = await ort.InferenceSession.create(model, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: level,
      optimizedModelFilePath: out,
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
    });
    if (session.release) await session.release();
  } catch (e) {
    fail(`ONNX Runtime cannot load ${model}: ${e.message}`);
  }
  if (!fs.existsSync(out)) fail(`ONNX Runtime wrote no optimized model to ${out}`);
  process.stdout.write(JSON.stringify({model, level, op_types: countOpTypes(out)}) + '\n');
}

main().catch((e) => fail(e.stack || String(e)));
