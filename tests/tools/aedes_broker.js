// A plain aedes MQTT 3.1.1 broker for the interoperability tests: in-memory
// persistence (sessions and retained messages last as long as the process),
// one TCP listener on 127.0.0.1. Usage: node aedes_broker.js PORT
// (aedes is found through NODE_PATH). Prints "listening PORT" once bound and
// stops on SIGTERM.
'use strict';

const net = require('net');
const aedes = require('aedes')();

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node aedes_broker.js PORT');
  process.exit(64);
}

const server = net.createServer(aedes.handle);
server.listen(port, '127.0.0.1', () => console.log('listening ' + port));
aedes.on('clientError', (client, err) => console.log('client error', client.id, err.message));

process.on('SIGTERM', () => {
  server.close();
  aedes.close(() => process.exit(0));
});
