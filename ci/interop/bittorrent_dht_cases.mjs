// Interop cases: examples/node.rs (btdht) against webtorrent's bittorrent-dht (npm).
//
// Run by ci/interop.sh inside a private network namespace; every socket is on 127.0.0.x.
//
//     node bittorrent_dht_cases.mjs --node target/release/examples/node --logs DIR --results FILE
//
// Topology:
//
//     B1      bittorrent-dht 127.0.0.21:27021, bootstrap: false (no router, ever)
//     O       our node 127.0.0.1:27051, bootstraps off B1 only: the node they join through
//     B2, B3  bittorrent-dht 127.0.0.22-23, bootstrap: [O] (our node only)
//     C       our node 127.0.0.2:27052, a fresh client run once everything is up:
//             --ping B1..B3 --find-node T --get-peers X --announce Y:7002
//             --get THEIR_ITEM_TARGET --put OUR_ITEM
//             --get-mutable PK:THEIR_SALT --key SEED --put-mutable OUR_SALT:1:OUR_MUTABLE
//
// BEP 44 (case 5): B1 puts an immutable and a mutable item before C starts, C gets
// them; C puts one of each, and B2, B3 get them (cache off: from the network). The
// mutable items are signed with one ed25519 key: Node's crypto on their side (from the
// 32-byte SEED), ours from the same seed; each side verifies the other's signatures.
//
// B1 announces X on port 7001 (`dht.announce`). bittorrent-dht only speaks IPv4 (its
// compact node and peer codecs are 6-byte), so there is no IPv6 run against it.
// Evidence comes from both sides: our node's event lines, and every KRPC message each
// bittorrent-dht node sent or received (its socket is wrapped to record them).
//
// Each case prints `RESULT<TAB>impl<TAB>case<TAB>PASS|FAIL<TAB>detail`, also appended
// to --results.

import DHT from 'bittorrent-dht'
import bencode from 'bencode'
import { spawn } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const IMPL = 'bittorrent-dht'
const X = '5858585858585858585858585858585858585858' // announced by bittorrent-dht (B1)
const Y = '5959595959595959595959595959595959595959' // announced by our node (C)
const T = '0123456789abcdef0123456789abcdef01234567' // find_node target
const THEIR_PEER_PORT = 7001
const OUR_PEER_PORT = 7002
const THEIR_ITEM = 'put by bittorrent-dht'
const OUR_ITEM = 'put by btdht'
const THEIR_SALT = 'bt-salt'
const THEIR_MUTABLE = 'mutable by bittorrent-dht'
const OUR_SALT = 'btdht-salt'
const OUR_MUTABLE = 'mutable by btdht'
// ed25519 from Node's crypto: a 32-byte seed wrapped in PKCS#8, a raw key in SPKI.
const SEED = Buffer.alloc(32, 0x2a)
const PRIVATE = crypto.createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), SEED]), format: 'der', type: 'pkcs8' })
const PK = crypto.createPublicKey(PRIVATE).export({ format: 'der', type: 'spki' }).subarray(-32)
const sign = (buf) => crypto.sign(null, buf, PRIVATE)
const verify = (sig, msg, pk) => {
  try {
    const key = crypto.createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(pk)]), format: 'der', type: 'spki' })
    return crypto.verify(null, msg, key, sig)
  } catch (e) { return false }
}
const sha1 = (...bufs) => crypto.createHash('sha1').update(Buffer.concat(bufs)).digest('hex')
const O_ADDR = '127.0.0.1:27051'
const C_ADDR = '127.0.0.2:27052'
const START = Date.now()

const args = {}
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1]
for (const k of ['node', 'logs', 'results']) {
  if (!args[k]) { console.error(`missing --${k}`); process.exit(2) }
}
fs.mkdirSync(args.logs, { recursive: true })

function log (msg) { console.log(`[${((Date.now() - START) / 1000).toFixed(1).padStart(6)}s] ${msg}`) }
const sleep = (ms) => new Promise(resolve => setTimeout(resolve, ms))
async function until (cond, seconds, what) {
  const end = Date.now() + seconds * 1000
  while (Date.now() < end) {
    if (cond()) return true
    await sleep(50)
  }
  log(`timed out after ${seconds}s waiting for ${what}`)
  return false
}
const hex = (b) => Buffer.isBuffer(b) ? b.toString('hex') : (b instanceof Uint8Array ? Buffer.from(b).toString('hex') : String(b))
const str = (b) => b == null ? undefined : Buffer.from(b).toString()
function compactPeer (b) {
  b = Buffer.from(b)
  return b.length === 6 ? `${b[0]}.${b[1]}.${b[2]}.${b[3]}:${b.readUInt16BE(4)}` : null
}

// An examples/node.rs process; its stdout lines are collected as they come.
class Ours {
  constructor (name, argv) {
    this.name = name
    this.lines = []
    this.log = fs.createWriteStream(path.join(args.logs, `${name}.log`))
    this.log.write(`$ ${args.node} ${argv.join(' ')}\n`)
    this.proc = spawn(args.node, argv, { stdio: ['ignore', 'pipe', 'pipe'] })
    this.exited = false
    this.proc.on('exit', () => { this.exited = true })
    let rest = ''
    const onData = (d) => {
      rest += d.toString()
      const parts = rest.split('\n')
      rest = parts.pop()
      for (const l of parts) { this.lines.push(l); this.log.write(l + '\n') }
    }
    this.proc.stdout.on('data', onData)
    this.proc.stderr.on('data', onData)
    log(`started ${name}: ${argv.join(' ')}`)
  }

  has (re) { return this.lines.map(l => l.match(re)).filter(Boolean) }

  async stop () {
    if (!this.exited) {
      this.proc.kill('SIGTERM')
      await until(() => this.exited, 5, `${this.name} to exit`)
      if (!this.exited) this.proc.kill('SIGKILL')
    }
    this.log.end()
  }
}

// One bittorrent-dht node; every KRPC message in or out is recorded.
class Their {
  constructor (name, host, port, bootstrap) {
    this.name = name
    this.addr = `${host}:${port}`
    this.msgs = [] // { dir: 'in'|'out', peer: 'ip:port', m: decoded message }
    this.events = []
    this.ready = false
    this.log = fs.createWriteStream(path.join(args.logs, `${name}.log`))
    // bootstrap: false => no router; an array => those nodes only (never the defaults).
    this.dht = new DHT({ bootstrap, verify })
    const sock = this.dht._rpc.socket // k-rpc-socket
    const send = sock.send.bind(sock)
    sock.send = (peer, message, cb) => {
      this.record('out', `${peer.address || peer.host}:${peer.port}`, message)
      return send(peer, message, cb)
    }
    // Before k-rpc-socket's own listener, which answers synchronously.
    sock.socket.prependListener('message', (buf, rinfo) => {
      let m = null
      try { m = bencode.decode(buf) } catch (e) { this.log.write(`undecodable from ${rinfo.address}:${rinfo.port}: ${buf.toString('hex')}\n`) }
      if (m) this.record('in', `${rinfo.address}:${rinfo.port}`, m)
    })
    this.dht.on('ready', () => { this.ready = true; this.log.write('ready\n') })
    this.dht.on('warning', (e) => this.log.write(`warning ${e.message}\n`))
    this.dht.on('error', (e) => this.log.write(`error ${e.message}\n`))
    this.dht.on('announce', (peer, infoHash) => {
      this.events.push(['announce', hex(infoHash), `${peer.host}:${peer.port}`])
      this.log.write(`announce ${hex(infoHash)} ${peer.host}:${peer.port}\n`)
    })
    this.dht.on('peer', (peer, infoHash, from) => {
      this.events.push(['peer', hex(infoHash), `${peer.host}:${peer.port}`])
      this.log.write(`peer ${hex(infoHash)} ${peer.host}:${peer.port} from ${from ? `${from.address || from.host}:${from.port}` : 'self'}\n`)
    })
    this.dht.listen(port, host)
    log(`started ${name} on ${this.addr}, bootstrap=${JSON.stringify(bootstrap)}`)
  }

  record (dir, peer, m) {
    this.msgs.push({ dir, peer, m })
    const y = str(m.y)
    const what = y === 'q' ? str(m.q) : y
    const keys = y === 'r' && m.r ? Object.keys(m.r).join(',') : (y === 'e' ? JSON.stringify(m.e && m.e.map(x => typeof x === 'number' ? x : str(x))) : '')
    this.log.write(`${((Date.now() - START) / 1000).toFixed(2)} ${dir === 'in' ? '<==' : '==>'} ${peer} ${what} t=${hex(m.t)} ${keys}\n`)
  }

  // [query, answer] pairs for queries `peer` sent to this node.
  exchanges (peer) {
    const queries = new Map()
    const out = []
    for (const { dir, peer: p, m } of this.msgs) {
      if (p !== peer) continue
      const y = str(m.y)
      if (dir === 'in' && y === 'q') queries.set(hex(m.t), m)
      else if (dir === 'out' && (y === 'r' || y === 'e') && queries.has(hex(m.t))) {
        out.push([queries.get(hex(m.t)), m])
        queries.delete(hex(m.t))
      }
    }
    return out
  }

  of (kind) { return this.events.filter(e => e[0] === kind).map(e => e.slice(1)) }
  nodeId () { return hex(this.dht.nodeId) }
  tableSize () { return this.dht.nodes.toArray().length }

  async close () {
    await new Promise(resolve => this.dht.destroy(resolve))
    this.log.end()
  }
}

const results = []
function result (c, ok, detail) {
  const line = `RESULT\t${IMPL}\t${c}\t${ok ? 'PASS' : 'FAIL'}\t${detail}`
  results.push(line)
  console.log(line)
}

const CASES = ['ping', 'find_node', 'get_peers', 'bootstrap', 'their_peer', 'our_peer', 'announce', 'our_item', 'their_item', 'our_mutable', 'their_mutable']
const theirs = []
const ours = []
try {
  const here = path.dirname(fileURLToPath(import.meta.url))
  const version = JSON.parse(fs.readFileSync(path.join(here, 'node_modules/bittorrent-dht/package.json'))).version
  log(`bittorrent-dht ${version}, node ${process.version}`)

  // 1. B1 alone, then O (our node) bootstrapping off it.
  const B1 = new Their('bt1', '127.0.0.21', 27021, false)
  theirs.push(B1)
  await until(() => B1.dht.listening, 3, 'B1 to listen')
  const O = new Ours('ours-server', ['--bind', O_ADDR, '--bootstrap', B1.addr, '--allow-local', '--seconds', '90'])
  ours.push(O)
  await until(() => O.has(/^bootstrapped [1-9]/).length, 8, 'our node to bootstrap off B1')

  // 2. B2, B3 join through our node only.
  const joiners = [new Their('bt2', '127.0.0.22', 27022, [O_ADDR]), new Their('bt3', '127.0.0.23', 27023, [O_ADDR])]
  theirs.push(...joiners)
  await until(() => joiners.every(b => b.ready), 12, "'ready' on B2, B3")

  // 3. B1 announces X (a lookup, then announce_peer to the closest nodes with tokens).
  let announceDone = null
  B1.dht.announce(X, THEIR_PEER_PORT, (err, n) => { announceDone = err ? `error ${err.message}` : n })
  await until(() => announceDone !== null, 12, "B1's announce of X")
  log(`B1 announce of X: ${announceDone}`)
  // B1 puts an immutable and a mutable item for C to get.
  const theirPuts = {}
  B1.dht.put({ v: Buffer.from(THEIR_ITEM) }, (err, hash, n) => { theirPuts.item = err ? `error ${err.message}` : n })
  B1.dht.put({ k: PK, v: Buffer.from(THEIR_MUTABLE), seq: 1, salt: Buffer.from(THEIR_SALT), sign },
    (err, hash, n) => { theirPuts.mutable = err ? `error ${err.message}` : n })
  await until(() => theirPuts.item !== undefined && theirPuts.mutable !== undefined, 12, "B1's puts")
  log(`B1 puts: ${JSON.stringify(theirPuts)}`)
  const theirItemTarget = sha1(Buffer.from(`${THEIR_ITEM.length}:${THEIR_ITEM}`))
  const theirMutableTarget = sha1(PK, Buffer.from(THEIR_SALT))

  // 4. C: a fresh node of ours queries them.
  const cArgs = ['--bind', C_ADDR, '--bootstrap', B1.addr, '--allow-local', '--closest', '--seconds', '20', '--exit-when-done']
  for (const b of theirs) cArgs.push('--ping', b.addr)
  cArgs.push('--find-node', T, '--get-peers', X, '--announce', `${Y}:${OUR_PEER_PORT}`)
  cArgs.push('--get', theirItemTarget, '--put', OUR_ITEM)
  cArgs.push('--get-mutable', `${PK.toString('hex')}:${THEIR_SALT}`, '--key', SEED.toString('hex'))
  cArgs.push('--put-mutable', `${OUR_SALT}:1:${OUR_MUTABLE}`)
  const C = new Ours('ours-client', cArgs)
  ours.push(C)
  await until(() => C.exited, 22, 'our client to finish')

  // 5. Their lookups: X (B1's, found through O) and Y (announced by C).
  const lookups = []
  for (const b of joiners) {
    for (const h of [X, Y]) {
      const l = { b, h, done: false }
      b.dht.lookup(h, (err, n) => { l.done = true; l.err = err; l.n = n })
      lookups.push(l)
    }
  }
  await until(() => lookups.every(l => l.done), 12, 'lookups on B2, B3')

  // 6. Their gets of C's items, from the network (their own store may hold them).
  const ourItemTarget = sha1(Buffer.from(`${OUR_ITEM.length}:${OUR_ITEM}`))
  const ourMutableTarget = sha1(PK, Buffer.from(OUR_SALT))
  const gets = []
  for (const b of joiners) {
    for (const [target, opts] of [[ourItemTarget, { cache: false }], [ourMutableTarget, { cache: false, salt: Buffer.from(OUR_SALT) }]]) {
      const g = { b, target, done: false }
      b.dht.get(target, opts, (err, res) => { g.done = true; g.err = err; g.res = res })
      gets.push(g)
    }
  }
  await until(() => gets.every(g => g.done), 12, 'gets on B2, B3')

  // ---- verdicts ---------------------------------------------------------------
  const theirAddrs = new Set(theirs.map(b => b.addr))
  const peerX = `127.0.0.21:${THEIR_PEER_PORT}`
  const peerY = `127.0.0.2:${OUR_PEER_PORT}`

  // Case 1a: ping every node; each pong carries that node's id.
  let bad = []
  for (const b of theirs) {
    const m = C.has(new RegExp(`^pong ${b.addr} ([0-9a-f]{40}) `))
    if (!m.length) bad.push(`${b.name}: no pong`)
    else if (m[0][1] !== b.nodeId()) bad.push(`${b.name}: pong id ${m[0][1]} != ${b.nodeId()}`)
  }
  result('ping', !bad.length, bad.join('; ') || `${theirs.length} pongs with each node's id`)

  // Case 1b: find_node answered with `nodes`, our lookup finished and kept them.
  const fn = theirs.flatMap(b => b.exchanges(C_ADDR).filter(([q]) => str(q.q) === 'find_node' && hex(q.a.target) === T).map(([, a]) => [b.name, a]))
  const fnOk = fn.filter(([, a]) => str(a.y) === 'r' && a.r.nodes !== undefined)
  const closestT = C.has(new RegExp(`^closest ${T} (\\S+) (\\S+) `)).filter(m => theirAddrs.has(m[2]))
  result('find_node', C.has(new RegExp(`^lookup-done ${T} `)).length > 0 && fnOk.length > 0 && closestT.length > 0,
    `${fnOk.length}/${fn.length} answers with nodes, ${closestT.length} bittorrent-dht nodes among our closest`)

  // Case 1c: get_peers answered with a token, kept by our lookup.
  const gp = theirs.flatMap(b => b.exchanges(C_ADDR).filter(([q]) => str(q.q) === 'get_peers' && hex(q.a.info_hash) === X).map(([, a]) => [b.name, a]))
  const gpTok = gp.filter(([, a]) => str(a.y) === 'r' && a.r.token !== undefined)
  const closestX = C.has(new RegExp(`^closest ${X} (\\S+) (\\S+) ([0-9a-f]+)$`)).filter(m => theirAddrs.has(m[2]))
  result('get_peers', C.has(new RegExp(`^lookup-done ${X} `)).length > 0 && gpTok.length > 0 && closestX.length > 0,
    `${gpTok.length}/${gp.length} answers with a token, ${closestX.length} bittorrent-dht nodes with tokens among our closest`)

  // Case 2: B2, B3 bootstrapped through O alone, their tables hold more than O, and
  // their lookup of X (B1's, whom they can only have learned through O) found its peer.
  bad = []
  for (const b of joiners) {
    const first = b.msgs.find(x => x.dir === 'out')
    const found = new Set(b.of('peer').filter(([h]) => h === X).map(([, p]) => p))
    if (!b.ready) bad.push(`${b.name}: not ready`)
    if (!first || first.peer !== O_ADDR) bad.push(`${b.name}: first query went to ${first && first.peer}`)
    if (b.tableSize() < 2) bad.push(`${b.name}: ${b.tableSize()} nodes in its table`)
    if (!found.has(peerX)) bad.push(`${b.name}: lookup of X found ${[...found]}`)
  }
  result('bootstrap', !bad.length, bad.join('; ') || `${joiners.length} nodes bootstrapped off ours; their lookups found X`)

  // Case 3a: X's peer, announced by bittorrent-dht, found by our get_peers, and sent to
  // us as `values` by bittorrent-dht nodes (not only by our other node O).
  const sentValues = gp.filter(([, a]) => a.r && Array.isArray(a.r.values) && a.r.values.map(compactPeer).includes(peerX)).map(([n]) => n)
  const printed = C.has(new RegExp(`^peer ${X} ${peerX.replace(/\./g, '\\.')}$`)).length > 0
  result('their_peer', printed && sentValues.length > 0,
    `our get_peers printed peer ${peerX}: ${printed}; bittorrent-dht nodes that answered us with it in values: ${[...new Set(sentValues)]}`)

  // Case 3b: Y's peer, announced by our node, found by their lookups.
  // The detail also says who served it as `values`: bittorrent-dht nodes (our announce
  // stored there) and our own nodes (our encoding decoded there).
  const finders = joiners.filter(b => b.of('peer').some(([h, p]) => h === Y && p === peerY)).map(b => b.name)
  const served = { theirs: 0, ours: 0 }
  for (const b of joiners) {
    for (const { dir, peer, m } of b.msgs) {
      if (dir !== 'in' || !m.r || !Array.isArray(m.r.values) || !m.r.values.map(compactPeer).includes(peerY)) continue
      served[peer === O_ADDR || peer === C_ADDR ? 'ours' : 'theirs']++
    }
  }
  result('our_peer', finders.length > 0,
    `bittorrent-dht lookups that found ${peerY}: ${finders}; answers with it in values from bittorrent-dht nodes: ${served.theirs}, from ours: ${served.ours}`)

  // Case 4: our announce_peer accepted: our count, their 'announce' event, and their
  // answer to announce_peer was a response, not an error.
  const m = C.has(new RegExp(`^announced ${Y} (\\d+)$`))
  const accepted = m.length ? Number(m[0][1]) : 0
  const stored = theirs.filter(b => b.of('announce').some(([h, p]) => h === Y && p === peerY)).map(b => b.name)
  const ann = theirs.flatMap(b => b.exchanges(C_ADDR).filter(([q]) => str(q.q) === 'announce_peer').map(([, a]) => [b.name, str(a.y)]))
  const errors = ann.filter(([, y]) => y !== 'r').map(([n]) => n)
  result('announce', accepted >= 1 && stored.length > 0 && !errors.length,
    `we count ${accepted} accepted; bittorrent-dht stored it on ${stored}; ${ann.length} announce_peer answered, errors from [${errors}]`)

  // Case 5: BEP 44 items, both ways (immutable, then mutable signed with ed25519).
  const putsTo = (mutable) => theirs.flatMap(b => b.exchanges(C_ADDR)
    .filter(([q]) => str(q.q) === 'put' && (q.a.k !== undefined) === mutable)
    .map(([, a]) => [b.name, str(a.y)]))
  const found = (target) => gets.filter(g => g.target === target && g.res && g.res.v)
  const ourPut = (target) => {
    const m = C.has(new RegExp(`^put ${target} (\\d+)$`))
    return m.length ? Number(m[0][1]) : 0
  }
  for (const [c, target, value, mutable] of [['our_item', ourItemTarget, OUR_ITEM, false], ['our_mutable', ourMutableTarget, OUR_MUTABLE, true]]) {
    const puts = putsTo(mutable)
    const refused = puts.filter(([, y]) => y !== 'r').map(([n]) => n)
    const finders = found(target).filter(g => str(g.res.v) === value && (!mutable || g.res.seq === 1)).map(g => g.b.name)
    result(c, ourPut(target) >= 1 && puts.length > 0 && !refused.length && finders.length > 0,
      `we count ${ourPut(target)} stored; ${puts.length} puts answered by bittorrent-dht, refused by [${refused}]; their gets found it on [${finders}]`)
  }
  const want = (s) => Buffer.from(`${s.length}:${s}`).toString('hex')
  const item = C.has(new RegExp(`^item ${theirItemTarget} ([0-9a-f]+)$`))
  result('their_item', item.length > 0 && item[0][1] === want(THEIR_ITEM),
    `B1's put: ${theirPuts.item}; our get printed ${item.length ? item[0][1] : 'nothing'}`)
  const mut = C.has(new RegExp(`^mutable-item ${theirMutableTarget} (\\d+) ([0-9a-f]+)$`))
  const last = mut[mut.length - 1]
  result('their_mutable', !!last && last[1] === '1' && last[2] === want(THEIR_MUTABLE),
    `B1's put: ${theirPuts.mutable}; our get printed seq ${last ? last[1] : '-'} value ${last ? last[2] : 'nothing'}`)
} catch (e) {
  console.error(e)
  const decided = new Set(results.map(r => r.split('\t')[2]))
  for (const c of CASES) if (!decided.has(c)) result(c, false, `harness error: ${e.message}`)
} finally {
  for (const o of ours) await o.stop()
  for (const b of theirs) await b.close()
  fs.appendFileSync(args.results, results.map(r => r + '\n').join(''))
  log(`logs in ${args.logs}`)
}
process.exit(results.length === CASES.length && results.every(r => r.includes('\tPASS\t')) ? 0 : 1)
