// Vendor profiles of the lab's modem emulator: identity strings, signal commands, URCs, bearer style, defaults.

export interface VendorProfile {
  name: string;
  /** The proprietary command set it speaks besides 3GPP: Huawei's (^…), Quectel's (+Q…), or none. */
  family: 'huawei' | 'quectel' | '3gpp';
  manufacturer: string;
  model: string;
  firmware: string;
  /** Echo right after power-up (ATE1 state). */
  echo: boolean;
  /** The proprietary signal query this vendor answers: ^HCSQ? (Huawei), +QCSQ (Quectel), or none (CESQ/CSQ only). */
  signalCommand?: 'AT^HCSQ?' | 'AT+QCSQ';
  /** Data bearer: Huawei NCM (^NDISDUP, ^DHCP?, ^NDISSTAT URC) or PDP activation (+CGACT, +CGEV URC). */
  bearer: 'ndis' | 'cgact';
  /** USSD strings exchanged as packed GSM 7-bit hex (Huawei's habit). */
  ussdPacked: boolean;
  /** What the modem says on power-up, before any command. */
  bootUrcs: (simLocked: boolean) => string[];
  /** Reply to an unknown command. */
  unknownReply: string;
  /** Whether identity replies carry the command prefix ("+CGMI: Quectel"); most modems give the bare text. */
  prefixedIdentity: boolean;
  operator: { name: string; numeric: string };
  imei: string;
  imsi: string;
  iccid: string;
}

export const huaweiProfile: VendorProfile = {
  name: 'huawei',
  family: 'huawei',
  manufacturer: 'huawei',
  model: 'E3372',
  firmware: '22.328.62.00.1217',
  echo: true,
  signalCommand: 'AT^HCSQ?',
  bearer: 'ndis',
  ussdPacked: true,
  bootUrcs: () => ['^SYSSTART'],
  unknownReply: 'COMMAND NOT SUPPORT',
  prefixedIdentity: false,
  operator: { name: 'Telekom.de', numeric: '26201' },
  imei: '866123045678901',
  imsi: '262011234567890',
  iccid: '89490200001234567890',
};

export const quectelProfile: VendorProfile = {
  name: 'quectel',
  family: 'quectel',
  manufacturer: 'Quectel',
  model: 'EC25',
  firmware: 'EC25EFAR06A06M4G',
  echo: false,
  signalCommand: 'AT+QCSQ',
  bearer: 'cgact',
  ussdPacked: false,
  bootUrcs: (locked) => ['RDY', locked ? '+CPIN: SIM PIN' : '+CPIN: READY', '+QUSIM: 1', '+QIND: SMS DONE', '+QIND: PB DONE'],
  unknownReply: 'ERROR',
  prefixedIdentity: true,
  operator: { name: 'vodafone.de', numeric: '26202' },
  imei: '861234567890123',
  imsi: '262029876543210',
  iccid: '89492029876543210987',
};

export const profiles = { huawei: huaweiProfile, quectel: quectelProfile } as const;
