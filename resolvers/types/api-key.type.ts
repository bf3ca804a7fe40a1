import { Field, ID, ObjectType } from 'type-graphql';

@ObjectType('ApiKey', {
  simpleResolvers: true,
  description: 'An API key; its secret is shown once, at creation, and never again.',
})
export class ApiKeyType {
  @Field((_type) => ID) id!: string;
  @Field((_type) => String) name!: string;
  @Field((_type) => String, { description: 'Identifies the key (`omtx_<prefix>_…`) in listings and audit logs.' })
  prefix!: string;
  @Field((_type) => ID, { nullable: true, description: 'The organization the key acts in.' }) organizationId!: string | null;
  @Field((_type) => Date) createdAt!: Date;
  @Field((_type) => Date, { nullable: true }) revokedAt!: Date | null;
}

@ObjectType('CreateApiKeyPayload', { simpleResolvers: true })
export class CreateApiKeyPayload {
  @Field((_type) => ApiKeyType) apiKey!: ApiKeyType;
  @Field((_type) => String, {
    description: 'The whole key, `omtx_<prefix>_<secret>`: send it as `Authorization: Bearer …`. Shown only here; store it now.',
  })
  secret!: string;
}
