// Entry point: `node dist/main.js`.
import 'reflect-metadata';
import { main } from './infrastructure/main';

void main();
