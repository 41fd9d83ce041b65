import { DynamicModule, Module, Type } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DEPENDENCY_CHECKS, DependencyCheck, HealthController } from './health.controller';

/** `GET /health`: MongoDB's and each given dependency's reachability, 503 when any is down. */
@Module({})
export class HealthModule {
  /** `dependencies`: indicators the process provides (Kafka's, say), so platform knows none of them. */
  static register(...dependencies: Type<DependencyCheck>[]): DynamicModule {
    return {
      module: HealthModule,
      imports: [TerminusModule.forRoot({ logger: false })],
      controllers: [HealthController],
      providers: [
        { provide: DEPENDENCY_CHECKS, inject: dependencies, useFactory: (...checks: DependencyCheck[]) => checks },
      ],
    };
  }
}
