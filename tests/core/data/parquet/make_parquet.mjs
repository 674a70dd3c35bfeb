// Writes the Parquet copies of the JSONL datasets in this folder with two real writers, once;
// the .parquet files are committed so CI needs no npm. Run: npm ci && node make_parquet.mjs
//  - DuckDB (@duckdb/node-api): data page v1, dictionary encoding, snappy / zstd / gzip / none,
//    several row groups, nested list<struct<role, content>> messages.
//  - hyparquet-writer: data page v2, snappy, several pages per column.
import { DuckDBInstance } from '@duckdb/node-api'
import { parquetWriteFile } from 'hyparquet-writer'
import { readFileSync } from 'node:fs'

const db = await DuckDBInstance.create(':memory:')
const con = await db.connect()
const types = {
  chat: "{'messages': 'STRUCT(role VARCHAR, content VARCHAR)[]'}",
  instruction: "{'id': 'BIGINT', 'instruction': 'VARCHAR', 'input': 'VARCHAR', 'output': 'VARCHAR', 'score': 'DOUBLE'}",
  mixed: "{'name': 'VARCHAR', 'count': 'BIGINT', 'ratio': 'DOUBLE', 'ok': 'BOOLEAN', 'tags': 'VARCHAR[]', " +
         "'meta': 'STRUCT(lang VARCHAR, len INTEGER)'}",
}
for (const [name, cols] of Object.entries(types)) {
  for (const codec of ['snappy', 'zstd', 'gzip', 'uncompressed']) {
    await con.run(`COPY (SELECT * FROM read_json('${name}.jsonl', format='newline_delimited', columns=${cols}))
                   TO '${name}.duckdb-${codec}.parquet' (FORMAT parquet, COMPRESSION ${codec}, ROW_GROUP_SIZE 10)`)
  }
}

// hyparquet-writer: flat columns from the instruction and mixed datasets (its column API takes
// plain arrays), small pages so each column spans several v2 pages.
function rows(file) {
  return readFileSync(file, 'utf8').trim().split('\n').map(l => JSON.parse(l))
}
const ins = rows('instruction.jsonl')
parquetWriteFile({
  filename: 'instruction.hyparquet-snappy.parquet',
  columnData: [
    { name: 'id', data: ins.map(r => BigInt(r.id)), type: 'INT64' },
    { name: 'instruction', data: ins.map(r => r.instruction), type: 'STRING' },
    { name: 'input', data: ins.map(r => r.input), type: 'STRING' },
    { name: 'output', data: ins.map(r => r.output), type: 'STRING' },
    { name: 'score', data: ins.map(r => r.score), type: 'DOUBLE' },
  ],
  pageSize: 256,
  rowGroupSize: 16,
})
const mixed = rows('mixed.jsonl')
parquetWriteFile({
  filename: 'mixed.hyparquet-snappy.parquet',
  columnData: [
    { name: 'name', data: mixed.map(r => r.name), type: 'STRING' },
    { name: 'count', data: mixed.map(r => r.count === null ? null : BigInt(r.count)), type: 'INT64' },
    { name: 'ratio', data: mixed.map(r => r.ratio), type: 'DOUBLE' },
    { name: 'ok', data: mixed.map(r => r.ok), type: 'BOOLEAN' },
  ],
})
console.log('done')
