import { Global, Module, type DynamicModule } from '@nestjs/common';
import { PrometheusModule, makeCounterProvider } from '@willsoto/nestjs-prometheus';
import { MetricsController } from './metrics.controller.js';
import { MetricsService } from './metrics.service.js';

/**
 * Prometheus metrics at `/metrics` (process defaults, HTTP, logins, outbox). With
 * `METRICS_ENABLED=false` the route is absent and the counters count into nothing.
 */
@Global()
@Module({})
export class MetricsModule {
  static forRoot(enabled: boolean): DynamicModule {
    return {
      module: MetricsModule,
      imports: enabled
        ? [
            PrometheusModule.register({
              path: '/metrics',
              controller: MetricsController,
              defaultMetrics: { enabled: true },
            }),
          ]
        : [],
      providers: [
        makeCounterProvider({
          name: 'auth_login_attempts_total',
          help: 'Login attempts by outcome',
          labelNames: ['outcome'],
        }),
        MetricsService,
      ],
      exports: [MetricsService],
    };
  }
}
