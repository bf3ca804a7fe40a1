import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';

export enum WebhookAttemptOutcome {
  DELIVERED = 'DELIVERED',
  FAILED = 'FAILED',
}
registerEnumType(WebhookAttemptOutcome, {
  name: 'WebhookAttemptOutcome',
  description: 'DELIVERED: the receiver answered 2xx. FAILED: anything else (another status, a timeout, no connection).',
});

@ObjectType('WebhookDelivery', { simpleResolvers: true, description: "One POST of a batch's webhook." })
export class WebhookDeliveryType {
  @Field((_type) => String, { description: 'The delivery: the same on every retry of one event (header X-OMTX-Delivery).' })
  deliveryId!: string;
  @Field((_type) => String, { description: 'batch.completed, batch.failed or batch.cancelled.' }) event!: string;
  @Field((_type) => Int, { description: '1 for the first POST of the delivery.' }) attempt!: number;
  @Field((_type) => WebhookAttemptOutcome) status!: WebhookAttemptOutcome;
  @Field((_type) => Int, { nullable: true, description: "The receiver's HTTP status; null when none came." })
  responseStatus!: number | null;
  @Field((_type) => String, { nullable: true }) error!: string | null;
  @Field((_type) => Date) at!: Date;
  @Field((_type) => Int) durationMs!: number;
  @Field((_type) => Date, { nullable: true, description: 'When the next attempt is due; null when delivered or given up.' })
  nextAttemptAt!: Date | null;
}
