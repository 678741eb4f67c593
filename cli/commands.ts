// Where each sub-command module is attached to the program (one line per module).
import type { Command } from 'commander';
import { registerAgent } from './agent.js';
import { registerLab } from './lab.js';
import { registerModem } from './modem.js';
import { registerHq } from './hq.js';
import { registerVehicle } from './vehicle.js';
import { registerLog } from './log.js';
import { registerSite } from './site.js';
import { registerReplay } from './replay.js';
import { registerSms } from './sms.js';

export function registerCommands(program: Command): void {
  registerAgent(program);
  registerLab(program);
  registerModem(program);
  registerHq(program);
  registerVehicle(program);
  registerLog(program);
  registerSite(program);
  registerReplay(program);
  registerSms(program);
}
