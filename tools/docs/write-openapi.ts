import { writeFileSync } from 'node:fs';
import { OPENAPI_FILE, openApiJson } from './openapi-file';

// npm run docs:openapi
void openApiJson().then((json) => {
  writeFileSync(OPENAPI_FILE, json);
  console.log(`wrote ${OPENAPI_FILE}`);
});
