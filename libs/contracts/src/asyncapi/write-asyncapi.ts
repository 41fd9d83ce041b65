import { writeFileSync } from 'node:fs';
import { ASYNCAPI_FILE, asyncApiYaml } from './asyncapi';

// npm run docs:asyncapi
writeFileSync(ASYNCAPI_FILE, asyncApiYaml());
console.log(`wrote ${ASYNCAPI_FILE}`);
