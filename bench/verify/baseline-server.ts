/**
 * The baseline: a bare Fastify route answering a constant, as its own process so it runs under
 * the same conditions as key-service. Prints its URL once listening.
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/v1/keys/verify', async () => ({ valid: true }));
app.listen({ port: 0, host: '127.0.0.1' }).then(
  (address) => console.log(address),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
