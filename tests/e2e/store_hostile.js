// tests/e2e/store_hostile.js — a registry that lies, and a file host, for
// tests/e2e/store.sh.
// usage: node store_hostile.js PORT LOGFILE GGUF
// Each repository is one lie (see `cases`); every request is logged as one
// line "METHOD PATH auth=<none|basic|bearer>" so the test can see where
// credentials went. /hf/o/r/resolve/main/x.gguf answers like Hugging Face
// (a redirect carrying X-Linked-Etag and X-Linked-Size) to /cdn/x.gguf,
// which serves GGUF with Range support and cuts the first full download
// half-way; /plain/x.gguf announces no digest. Listens on 127.0.0.1 only.
'use strict';
const http = require('http');
const crypto = require('crypto');
const fs = require('fs');

const port = Number(process.argv[2]);
const logfile = process.argv[3];
const gguf = fs.readFileSync(process.argv[4]);
let cut = true;
const sha = (b) => 'sha256:' + crypto.createHash('sha256').update(b).digest('hex');
const log = (s) => fs.appendFileSync(logfile, s + '\n');

const config = Buffer.from('{}');
const blob = crypto.randomBytes(1000);
const other = crypto.randomBytes(1000);
const W = 'application/vnd.cncf.model.weight.v1.raw';

function manifest(layerDigest, layerSize) {
	return Buffer.from(JSON.stringify({
		schemaVersion: 2,
		mediaType: 'application/vnd.oci.image.manifest.v1+json',
		artifactType: 'application/vnd.cncf.model.manifest.v1+json',
		config: { mediaType: 'application/vnd.cncf.model.config.v1+json', digest: sha(config), size: config.length },
		layers: [{ mediaType: W, digest: layerDigest, size: layerSize }],
	}));
}

// repository -> what it does
const cases = {
	'lie/longer': { m: manifest(sha(blob), blob.length), send: 'longer' },
	'lie/length': { m: manifest(sha(blob), blob.length), send: 'length' },
	'lie/digest': { m: manifest(sha(blob), blob.length), send: 'other' },
	'lie/mdigest': { m: manifest(sha(blob), blob.length), send: 'blob', mdigest: sha(Buffer.from('x')) },
	'lie/huge': { m: manifest(sha(blob), 2 ** 50), send: 'blob' },
	'lie/traversal': { m: manifest('sha256:../../../../../../etc/passwd', 10), send: 'blob' },
	'lie/upper': { m: manifest(sha(blob).toUpperCase().replace('SHA256', 'sha256'), blob.length), send: 'blob' },
	'lie/absent': { m: manifest(sha(blob), blob.length), send: 'absent' },
	'lie/notjson': { m: Buffer.from('{"schemaVersion": 2, "layers": ['), send: 'blob' },
	'lie/bigmanifest': { m: Buffer.alloc(5 << 20, 32), send: 'blob' },
};

function auth(req) {
	const a = req.headers.authorization || '';
	return a.startsWith('Basic ') ? 'basic' : a.startsWith('Bearer ') ? 'bearer' : 'none';
}

http.createServer((req, res) => {
	const url = new URL(req.url, 'http://x');
	log(`${req.method} ${url.pathname} auth=${auth(req)}`);
	if (url.pathname === '/token' || url.pathname === '/token2') {
		res.writeHead(200, { 'Content-Type': 'application/json' });
		return res.end(JSON.stringify({ token: 'tok' + url.pathname.slice(1) }));
	}
	if (url.pathname === '/hf/o/r/resolve/main/x.gguf') {
		res.writeHead(302, {
			Location: '/cdn/x.gguf',
			'X-Linked-Etag': '"' + sha(gguf).slice(7) + '"',
			'X-Linked-Size': gguf.length,
		});
		return res.end();
	}
	if (url.pathname === '/cdn/x.gguf' || url.pathname === '/plain/x.gguf') {
		const r = (req.headers.range || '').match(/^bytes=(\d+)-$/);
		if (r) {
			const a = Number(r[1]);
			res.writeHead(206, { 'Content-Length': gguf.length - a, 'Content-Range': `bytes ${a}-${gguf.length - 1}/${gguf.length}` });
			return res.end(gguf.subarray(a));
		}
		res.writeHead(200, { 'Content-Length': gguf.length });
		if (req.method === 'HEAD')
			return res.end();
		if (cut && url.pathname === '/cdn/x.gguf') {
			cut = false;
			res.write(gguf.subarray(0, gguf.length >> 1));
			return setTimeout(() => res.socket.destroy(), 100);
		}
		return res.end(gguf);
	}
	if (url.pathname === '/v2/' || url.pathname === '/v2') {
		res.writeHead(200);
		return res.end('{}');
	}
	// /v2/auth/<other|same>/manifests/t: a token realm on another host
	// (localhost instead of 127.0.0.1) or on this one
	let m = url.pathname.match(/^\/v2\/auth\/(other|same)\/manifests\/(.+)$/);
	if (m) {
		if (auth(req) !== 'bearer') {
			const realm = m[1] === 'other' ? `http://localhost:${port}/token` : `http://127.0.0.1:${port}/token2`;
			res.writeHead(401, { 'WWW-Authenticate': `Bearer realm="${realm}",service="hostile",scope="repository:auth/${m[1]}:pull"` });
			return res.end('{"errors":[{"code":"UNAUTHORIZED","message":"who are you"}]}');
		}
		res.writeHead(404);
		return res.end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"nothing here"}]}');
	}
	m = url.pathname.match(/^\/v2\/(.+)\/(manifests|blobs)\/(.+)$/);
	const c = m && cases[m[1]];
	if (!c) {
		res.writeHead(404);
		return res.end();
	}
	if (m[2] === 'manifests') {
		res.writeHead(200, {
			'Content-Type': 'application/vnd.oci.image.manifest.v1+json',
			'Docker-Content-Digest': c.mdigest || sha(c.m),
			'Content-Length': c.m.length,
		});
		return res.end(c.m);
	}
	const d = m[3];
	if (d === sha(config)) {
		res.writeHead(200, { 'Content-Length': config.length });
		return res.end(config);
	}
	switch (c.send) {
	case 'longer': // no Content-Length: more bytes than the manifest says
		res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
		res.write(blob);
		return res.end(crypto.randomBytes(4000));
	case 'length': // announces more than the manifest says
		res.writeHead(200, { 'Content-Length': blob.length * 3 });
		return res.end(Buffer.concat([blob, blob, blob]));
	case 'other': // the right size, the wrong bytes
		res.writeHead(200, { 'Content-Length': other.length });
		return res.end(other);
	case 'absent':
		res.writeHead(404);
		return res.end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}');
	default:
		res.writeHead(200, { 'Content-Length': blob.length });
		return res.end(blob);
	}
}).listen(port, '127.0.0.1', () => log('listening'));
