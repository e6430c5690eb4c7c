import { buildTemplate } from '../../shared/mime/rewrite.ts';
import { message20k } from './messages.ts';

const body = Buffer.from((await message20k())(1), 'latin1');
const N = Number(process.argv[2] ?? 3000);
for (let i = 0; i < 300; i++) await buildTemplate(body, { hostname: 'relay.example' });
const t = process.hrtime.bigint();
for (let i = 0; i < N; i++) await buildTemplate(body, { hostname: 'relay.example' });
console.log('buildTemplate', (Number(process.hrtime.bigint() - t) / N / 1000).toFixed(1), 'µs');
