/**
 * Invented company names. Real-looking names make alerts readable in a demo and give the
 * watchlist rule something to chew on; they are assembled from parts so no real firm is named.
 */
import type { Rng } from './random.ts';

const CN_PLACES = [
  'Baotou', 'Ganzhou', 'Longnan', 'Ningbo', 'Xiamen', 'Changting', 'Leshan', 'Fuzhou', 'Taiyuan', 'Chengdu',
  'Wuxi', 'Hangzhou', 'Tianjin', 'Zibo', 'Shaoguan', 'Meizhou', 'Liangshan', 'Hohhot', 'Nanchang', 'Yichun',
  'Quanzhou', 'Dongguan', 'Suzhou', 'Changzhou', 'Jining', 'Handan', 'Ordos', 'Chongzuo', 'Hezhou', 'Longyan',
];
const CN_ROOTS = [
  'Huarui', 'Tongxin', 'Jiahe', 'Mingda', 'Fengyuan', 'Xinrui', 'Longsheng', 'Baiyun', 'Qingshan', 'Hengtai',
  'Ruifeng', 'Tianyu', 'Kaixin', 'Jinhong', 'Yongan', 'Haorun', 'Dingsheng', 'Chuangyi', 'Weiye', 'Shengda',
  'Zhongyi', 'Huaying', 'Guangyao', 'Lianhe', 'Xinhe', 'Boyuan', 'Jiacheng', 'Runtai', 'Hongyu', 'Anrui',
];
const CN_TRADES: Record<string, string[]> = {
  MINING: ['Rare Earth Mining', 'Mineral Resources', 'Rare Earth Ore'],
  SEPARATION: ['Rare Earth Smelting and Separation', 'Rare Earth Refining', 'Rare Earth Chemical'],
  METAL: ['Rare Earth Metals', 'Rare Earth Metallurgy', 'New Metal Materials'],
  ALLOY: ['Magnetic Alloy', 'Rare Earth Alloy', 'Strip Casting Materials'],
  MAGNET: ['Magnet Technology', 'Permanent Magnet Materials', 'Magnetic Materials', 'Magnetoelectric'],
};

/** Country → [roots, trades, legal forms]. Trades lean to the buyers of magnets and REE materials. */
const FOREIGN: Record<string, [string[], string[], string[]]> = {
  DE: [['Vogel', 'Brandt', 'Keller', 'Hartmann', 'Lindner', 'Rheintal', 'Nordwerk', 'Weser', 'Elbtal', 'Falkenau'], ['Antriebstechnik', 'Motorenwerk', 'Elektromaschinen', 'Magnettechnik', 'Sensorik'], ['GmbH', 'AG', 'GmbH & Co. KG']],
  US: [['Apex', 'Summit', 'Lakeshore', 'Redwood', 'Ironbridge', 'Pioneer', 'Granite', 'Bayview', 'Prairie', 'Cascade'], ['Motion Systems', 'Electric Motors', 'Magnetics', 'Drive Technologies', 'Power Components'], ['Inc.', 'LLC', 'Corp.']],
  JP: [['Kanto', 'Hokuriku', 'Sanwa', 'Tokai', 'Chubu', 'Daiichi', 'Minato', 'Kosei', 'Hoshino', 'Yamabe'], ['Magnetics', 'Denki', 'Seiki', 'Motor Works', 'Electronics'], ['Co., Ltd.', 'K.K.', 'Corporation']],
  KR: [['Hanbit', 'Daesung', 'Mirae', 'Sungjin', 'Hanul', 'Saebyeol', 'Dongyang', 'Gwangmyeong'], ['Motors', 'Electric', 'Magnetics', 'Precision'], ['Co., Ltd.', 'Corp.']],
  VN: [['Sao Viet', 'Hoang Long', 'Phu Tho', 'Binh Minh', 'Dong A', 'Thanh Cong', 'An Phat'], ['Electric', 'Motor Assembly', 'Electronics'], ['JSC', 'Co., Ltd.']],
  IN: [['Shakti', 'Vishwa', 'Kaveri', 'Sahyadri', 'Prakash', 'Trident', 'Narmada', 'Vayu'], ['Motors', 'Electricals', 'Magnetics', 'E-Drives'], ['Pvt. Ltd.', 'Ltd.']],
  MX: [['Norteña', 'Bajío', 'Sierra Madre', 'Regio', 'Anáhuac', 'Pacífico'], ['Motores', 'Componentes Eléctricos', 'Magnéticos'], ['S.A. de C.V.']],
  TH: [['Siam', 'Chao Phraya', 'Rattana', 'Eastern Seaboard', 'Lanna', 'Suvarna'], ['Electric', 'Motor Parts', 'Magnet'], ['Co., Ltd.', 'Public Co., Ltd.']],
  IT: [['Lombarda', 'Adriatica', 'Piemontese', 'Veneta', 'Tosco', 'Emiliana'], ['Motori Elettrici', 'Magneti', 'Azionamenti'], ['S.p.A.', 'S.r.l.']],
  FR: [['Rhône', 'Alpine', 'Normande', 'Ligérienne', 'Atlantique', 'Vosgienne'], ['Moteurs', 'Électromécanique', 'Aimants'], ['SAS', 'SA']],
  PL: [['Wisła', 'Mazowsze', 'Śląsk', 'Pomorze', 'Karpaty', 'Warta'], ['Napędy', 'Silniki', 'Elektro'], ['Sp. z o.o.', 'S.A.']],
  GB: [['Pennine', 'Thames', 'Severn', 'Cotswold', 'Northumbria', 'Solent'], ['Drives', 'Electric Machines', 'Magnet Products'], ['Ltd', 'plc']],
  NL: [['Delta', 'Zuiderzee', 'Brabant', 'Veluwe', 'Waddenzee'], ['Aandrijvingen', 'Electric', 'Magnetics'], ['B.V.']],
  CZ: [['Morava', 'Vltava', 'Bohemia', 'Krkonoše'], ['Elektromotory', 'Pohony'], ['s.r.o.', 'a.s.']],
  HU: [['Duna', 'Tisza', 'Balaton', 'Mátra'], ['Motor', 'Elektro'], ['Kft.', 'Zrt.']],
  TR: [['Anadolu', 'Marmara', 'Ege', 'Toros'], ['Motor', 'Elektrik'], ['A.Ş.', 'Ltd. Şti.']],
  ES: [['Ibérica', 'Cantábrica', 'Levante', 'Navarra'], ['Motores', 'Imanes'], ['S.A.', 'S.L.']],
  BR: [['Paulista', 'Guanabara', 'Mineira', 'Gaúcha'], ['Motores', 'Elétrica'], ['Ltda.', 'S.A.']],
  MY: [['Klang', 'Penang', 'Johor', 'Perak'], ['Electric', 'Motor'], ['Sdn. Bhd.']],
  SE: [['Norrland', 'Vättern', 'Göta', 'Mälar'], ['Elmotor', 'Drivteknik'], ['AB']],
};

/** Where the clients sit, weighted roughly by their share of China's magnet exports. */
export const CLIENT_COUNTRY_WEIGHTS: Record<string, number> = {
  DE: 18, US: 10, KR: 10, JP: 8, VN: 8, IN: 7, MX: 5, TH: 5, IT: 5, FR: 3, PL: 3, GB: 3, NL: 3,
  CZ: 2, HU: 2, TR: 2, ES: 2, BR: 2, MY: 2, SE: 1,
};

/**
 * Tries the usual pattern, then a wider one (big worlds use up the small parts lists), then
 * numbers the name as a last resort, so names stay distinct.
 */
function uniqueName(used: Set<string>, make: () => string, makeWide: () => string): string {
  for (const maker of [make, makeWide]) {
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const name = maker();
      if (!used.has(name)) {
        used.add(name);
        return name;
      }
    }
  }
  for (let n = 2; ; n += 1) {
    const name = `${makeWide()} (${n})`;
    if (!used.has(name)) {
      used.add(name);
      return name;
    }
  }
}

/** Two different parts from a list. */
function pair(rng: Rng, parts: readonly string[]): [string, string] {
  const [a, b] = rng.sample(parts, 2);
  return [a!, b ?? a!];
}

export function producerName(rng: Rng, stage: string, used: Set<string>): string {
  const trades = CN_TRADES[stage] ?? CN_TRADES.MAGNET!;
  return uniqueName(
    used,
    () => `${rng.pick(CN_PLACES)} ${rng.pick(CN_ROOTS)} ${rng.pick(trades)} Co., Ltd.`,
    () => {
      // Provincial prefix, as in "Jiangxi Ganzhou ...": distinct firms in the same city.
      const [province, city] = pair(rng, CN_PLACES);
      return `${province} ${city} ${rng.pick(CN_ROOTS)} ${rng.pick(trades)} Co., Ltd.`;
    },
  );
}

export function clientName(rng: Rng, country: string, used: Set<string>): string {
  const [roots, trades, forms] = FOREIGN[country] ?? FOREIGN.US!;
  return uniqueName(
    used,
    () => `${rng.pick(roots)} ${rng.pick(trades)} ${rng.pick(forms)}`,
    () => {
      const [a, b] = pair(rng, roots);
      return `${a}-${b} ${rng.pick(trades)} ${rng.pick(forms)}`;
    },
  );
}
