import { Global, Module } from '@nestjs/common';
import { DocumentLocks } from './document-locks.js';

@Global()
@Module({ providers: [DocumentLocks], exports: [DocumentLocks] })
export class DatabaseModule {}
