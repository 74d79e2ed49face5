// Runs the simulator on its own:
//   node --import tsx simulator/cli.ts [--port 8081] [--smpp-port 2775] [--enquire-link-ms 30000]
// prints the environment the app needs and serves the control API under /_sim (see control.ts).
import { parseArgs } from 'node:util';
import { startSimulator } from './server.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'smpp-port': { type: 'string', default: '0' },
    'enquire-link-ms': { type: 'string', default: '30000' },
  },
});

const sim = await startSimulator({
  port: Number(values.port),
  smppPort: Number(values['smpp-port']),
  smsc: { enquireLinkIntervalMs: Number(values['enquire-link-ms']) },
  control: true,
});

process.stdout.write(
  [
    `TELEGRAM_API_URL=${sim.urls.telegram}`,
    `VIBER_API_URL=${sim.urls.viber}`,
    `GRAPH_API_URL=${sim.urls.graph}`,
    `SMPP_HOST=${sim.smpp.host}`,
    `SMPP_PORT=${sim.smpp.port}`,
    `# control API: ${sim.urls.control}`,
    '',
  ].join('\n'),
);

const stop = () => {
  void sim.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
