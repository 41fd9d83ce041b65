import { INestApplication, RequestMethod, Type } from '@nestjs/common';
import { GUARDS_METADATA, METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer } from '@nestjs/core';
import { OpenAPIObject } from '@nestjs/swagger';
import type {
  OperationObject,
  ResponseObject,
  SecurityRequirementObject,
} from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { STATUS_CODES } from 'node:http';
import { PROBLEM_DETAILS_SCHEMA } from './problem-details';

/** What a route may be refused with: status → when. */
export type Refusals = Partial<Record<number, string>>;

/** One route handler, as a guard sees it when it says what it refuses. */
export interface DocumentedRoute {
  controller: Type;
  handler: (...args: unknown[]) => unknown;
  method: keyof typeof RequestMethod;
}

/**
 * A guard class that says, for the OpenAPI document, what it refuses on a route and how a caller
 * authenticates to it, so every route it guards is documented without repeating it there.
 */
export interface DocumentedGuard {
  openApiRefusals(route: DocumentedRoute): Refusals;
  openApiSecurity?: SecurityRequirementObject[];
}

export interface DocumentRules {
  /** What a request that changes something (any method but GET) may also be refused with. */
  changes?: Refusals;
}

const PROBLEM = '#/components/schemas/Problem';
const SAFE_METHODS = new Set(['get', 'head', 'options']);
const RETRY_AFTER = {
  'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer', minimum: 0 } },
};

/** Answers any route may give, whatever it is. */
const EVERY_ROUTE: Refusals = {
  503: 'A dependency (the database) cannot be reached right now; try again after Retry-After seconds',
};
/** Answers of a route that reads a body: Fastify's, before the handler runs. */
const BODY_ROUTE: Refusals = {
  400: 'The body is not valid JSON, nested too deep, or a field is invalid; `errors` names the fields',
  413: 'The body is larger than this route accepts',
  415: 'The body is not `application/json`',
};
const PATH_PARAMETERS: Refusals = {
  404: 'Nothing here by that id',
  414: 'A path segment longer than 100 characters',
};
const QUERY_PARAMETERS: Refusals = { 400: 'A query parameter is invalid; `errors` names it' };

function isDocumentedGuard(guard: unknown): guard is DocumentedGuard {
  return typeof (guard as Partial<DocumentedGuard>).openApiRefusals === 'function';
}

/** Every controller route of the app by its OpenAPI operation id, with its guards. */
function routesOf(app: INestApplication): Map<string, { route: DocumentedRoute; guards: DocumentedGuard[] }> {
  const routes = new Map<string, { route: DocumentedRoute; guards: DocumentedGuard[] }>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const { metatype } of module.controllers.values()) {
      const controller = metatype as Type | null;
      if (!controller) continue;
      const guardsOf = (target: object): unknown[] => Reflect.getMetadata(GUARDS_METADATA, target) ?? [];
      for (const name of Object.getOwnPropertyNames(controller.prototype)) {
        const handler = (controller.prototype as Record<string, unknown>)[name];
        if (typeof handler !== 'function' || Reflect.getMetadata(PATH_METADATA, handler) === undefined) continue;
        const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod];
        const guards = [...guardsOf(controller), ...guardsOf(handler)].filter(isDocumentedGuard);
        // @nestjs/swagger's operation ids are `<Controller>_<method>`.
        routes.set(`${controller.name}_${name}`, {
          route: {
            controller,
            handler: handler as DocumentedRoute['handler'],
            method: method as DocumentedRoute['method'],
          },
          guards,
        });
      }
    }
  }
  return routes;
}

/**
 * Completes the document @nestjs/swagger built from the controllers with every answer each route
 * can give: what its guards refuse (and how to authenticate), what a body, a path or a query
 * parameter can be refused with, a dependency being down. Every error is a problem-details body,
 * 429 and 503 say when to retry, and response schemas hold exactly their fields.
 */
export function completeOpenApiDocument(
  app: INestApplication,
  document: OpenAPIObject,
  rules: DocumentRules = {},
): OpenAPIObject {
  const routes = routesOf(app);
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item) as [string, OperationObject][]) {
      if (!operation?.responses) continue;
      const found = routes.get(operation.operationId ?? '');
      const parameters = (operation.parameters ?? []) as { in?: string }[];
      const refusals: Refusals = {
        ...EVERY_ROUTE,
        ...(SAFE_METHODS.has(method) ? {} : { ...BODY_ROUTE, ...rules.changes }),
        ...(path.includes('{') ? PATH_PARAMETERS : {}),
        ...(parameters.some((p) => p.in === 'query') ? QUERY_PARAMETERS : {}),
      };
      for (const guard of found?.guards ?? []) {
        Object.assign(refusals, guard.openApiRefusals(found!.route));
        if (guard.openApiSecurity) operation.security = guard.openApiSecurity;
      }
      for (const [status, description] of Object.entries(refusals)) {
        operation.responses[status] ??= { description: description! };
      }
      for (const [status, response] of Object.entries(operation.responses) as [string, ResponseObject][]) {
        if (!response.description) response.description = refusals[Number(status)] ?? STATUS_CODES[status] ?? '';
        if (Number(status) < 400) continue;
        response.content = { 'application/problem+json': { schema: { $ref: PROBLEM } } };
        if (status === '429' || status === '503') response.headers = { ...response.headers, ...RETRY_AFTER };
      }
    }
  }
  const schemas = (document.components ??= {}).schemas ?? {};
  // Response classes are built field by field (their `from`): they hold nothing undocumented.
  for (const schema of Object.values(schemas))
    (schema as { additionalProperties?: boolean }).additionalProperties ??= false;
  document.components.schemas = { ...schemas, Problem: PROBLEM_DETAILS_SCHEMA as object };
  return document;
}
