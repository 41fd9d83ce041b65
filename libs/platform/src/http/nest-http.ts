/**
 * Nest's HTTP exceptions and status codes for code that also runs without Nest
 * (the internal verification listener's worker thread), imported from their own module files on
 * purpose: `@nestjs/common`'s index loads all of Nest and rxjs, about 17 MB of a worker's memory.
 * They are the very classes the index exports, so Nest's filters still recognise them
 * (internal-verify.worker.spec.ts fails when the worker loads the index again).
 */
export { BadRequestException } from '@nestjs/common/exceptions/bad-request.exception';
export { HttpException } from '@nestjs/common/exceptions/http.exception';
export { ServiceUnavailableException } from '@nestjs/common/exceptions/service-unavailable.exception';
export { HttpStatus } from '@nestjs/common/enums/http-status.enum';
