import { defineScenarios } from './scenarios.mjs';

defineScenarios({ platform: 'wechat', globalName: 'wx', signInField: 'signInWithWechat', channel: 'WECHAT_MP' });
