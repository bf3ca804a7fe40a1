import { Field, ObjectType } from 'type-graphql';
import { JobType } from './job.type.js';
import { BatchType } from './batch.type.js';

@ObjectType('PageInfo', { simpleResolvers: true })
export class PageInfoType {
  @Field((_type) => Boolean) hasNextPage!: boolean;
  @Field((_type) => Boolean) hasPreviousPage!: boolean;
  @Field((_type) => String, { nullable: true }) startCursor!: string | null;
  @Field((_type) => String, { nullable: true }) endCursor!: string | null;
}

@ObjectType('JobEdge', { simpleResolvers: true })
export class JobEdgeType {
  @Field((_type) => JobType) node!: JobType;
  @Field((_type) => String) cursor!: string;
}

@ObjectType('JobConnection', { simpleResolvers: true })
export class JobConnectionType {
  @Field((_type) => [JobEdgeType]) edges!: JobEdgeType[];
  @Field((_type) => [JobType], { description: 'The nodes of `edges`, for clients that need no cursors.' }) nodes!: JobType[];
  @Field((_type) => PageInfoType) pageInfo!: PageInfoType;
}

@ObjectType('BatchEdge', { simpleResolvers: true })
export class BatchEdgeType {
  @Field((_type) => BatchType) node!: BatchType;
  @Field((_type) => String) cursor!: string;
}

@ObjectType('BatchConnection', { simpleResolvers: true })
export class BatchConnectionType {
  @Field((_type) => [BatchEdgeType]) edges!: BatchEdgeType[];
  @Field((_type) => [BatchType]) nodes!: BatchType[];
  @Field((_type) => PageInfoType) pageInfo!: PageInfoType;
}
