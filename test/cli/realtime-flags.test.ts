import { expect } from 'chai';
import { FASTPHONE_HELP } from '../../src/cli/fastphone-command.js';
import { applyRealtimeFlags } from '../../src/cli/realtime-flags.js';
import { SERVE_HELP } from '../../src/cli/serve-command.js';

describe('CLI: the openai-realtime flags of serve and fastphone', () => {
  it('set the variables the handler reads, a flag over the environment, nothing for a flag not given', () => {
    const env: NodeJS.ProcessEnv = { OPENAI_REALTIME_MODEL: 'from-env', OPENAI_REALTIME_VOICE: 'alloy' };
    applyRealtimeFlags({ 'realtime-model': 'gpt-realtime-mini', 'realtime-instructions': 'Be brief.' }, env);
    expect(env).to.deep.equal({ OPENAI_REALTIME_MODEL: 'gpt-realtime-mini', OPENAI_REALTIME_VOICE: 'alloy', OPENAI_REALTIME_INSTRUCTIONS: 'Be brief.' });
  });

  it('are in both commands\' help, with the variable each stands for', () => {
    for (const help of [SERVE_HELP, FASTPHONE_HELP]) {
      for (const [flag, variable] of [['model', 'MODEL'], ['voice', 'VOICE'], ['instructions', 'INSTRUCTIONS']]) {
        expect(help).to.match(new RegExp(`--realtime-${flag}\\b[\\s\\S]*?env OPENAI_REALTIME_${variable}\\b`));
      }
    }
  });
});
