import { defineScenarios } from './scenarios.mjs';

defineScenarios({ platform: 'alipay', globalName: 'my', signInField: 'signInWithAlipay', channel: 'ALIPAY_MP' });
