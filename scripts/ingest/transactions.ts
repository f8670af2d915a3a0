/**
 * The synthetic data set of the running example: labelled card transactions with a signal XGBoost can learn.
 *
 * The record's fields come from the feature schema: every field the schema has is generated, in schema order, with
 * its type, range and categories. Fields the running example knows get a behaviour that differs between legitimate
 * and fraudulent transactions (fraud is more often online, at night, far from home, in bursts, for larger amounts);
 * a field the example does not know yet gets plain noise from its type, so the producer keeps working when the schema
 * grows.
 *
 * The classes overlap on purpose, as they do in real card data: some fraud imitates the holder's normal use, and some
 * legitimate use looks like fraud (a holder abroad, buying online at night). The features follow how a transaction
 * *behaves*, drawn from the label with these odds, so the best possible validation AUC is about 0.9, not a
 * trivially perfect 1.0.
 */
import {
  type FeatureSchema,
  type FieldSpec,
  labelField,
  recordIdField,
  TRANSACTION_SCHEMA,
} from '../../lib/schema/feature-schema';
import { SeededRandom } from './random';

export type FieldValue = string | number | boolean;
export type GeneratedRecord = Readonly<Record<string, FieldValue>>;

export interface GeneratorOptions {
  /** Same seed, same records. */
  readonly seed: number;
  /** Share of fraudulent records, above 0 and at most 0.5. Card fraud is rare; 2% keeps enough positives to learn. */
  readonly fraudRate: number;
  /** Event time of the first record, in epoch milliseconds. */
  readonly startTime: number;
  /** Milliseconds between consecutive event times, on average. */
  readonly meanGapMs: number;
  /** A shift of the distributions from {@link DRIFT_SCENARIOS}, or none for the data the model was built on. */
  readonly drift?: DriftScenario;
}

/** How one field behaves, given whether the record behaves like fraud and the fields generated before it. */
type Behaviour = (
  random: SeededRandom,
  fraudLike: boolean,
  earlier: Readonly<Record<string, FieldValue>>,
) => FieldValue;

/** Odds that a transaction behaves like fraud, given its label: the overlap between the classes. */
const FRAUD_LIKE_BEHAVIOUR = { ofFraud: 0.85, ofLegitimate: 0.02 } as const;

const CUSTOMERS = 5_000;
const NIGHT_HOURS = [0, 1, 2, 3, 4, 5];

/** Where fraud happens, by merchant category and by channel: the same in every drift scenario. */
const FRAUD_MERCHANTS = {
  grocery: 3,
  restaurant: 3,
  fuel: 2,
  travel: 15,
  electronics: 30,
  online_services: 25,
  gambling: 17,
  other: 5,
} as const;
const FRAUD_CHANNELS = { chip: 12, contactless: 8, online: 65, phone: 15 } as const;

/** The running example's behaviours, by field name: the signal the model learns. */
const TRANSACTION_BEHAVIOUR: Readonly<Record<string, Behaviour>> = {
  customer_id: (random) => `C${String(random.integer(1, CUSTOMERS)).padStart(5, '0')}`,
  // Log-normal: most purchases are small, a few are large; fraud skews larger.
  amount: (random, fraud) => round(fraud ? random.logNormal(4.6, 1.2) : random.logNormal(3.4, 1.0), 2),
  merchant_category: (random, fraud) =>
    random.weighted(
      fraud
        ? FRAUD_MERCHANTS
        : {
            grocery: 28,
            restaurant: 20,
            fuel: 14,
            travel: 5,
            electronics: 6,
            online_services: 14,
            gambling: 2,
            other: 11,
          },
    ),
  channel: (random, fraud) =>
    random.weighted(fraud ? FRAUD_CHANNELS : { chip: 35, contactless: 42, online: 20, phone: 3 }),
  // Follows the channel (a card at a terminal is present, online and by phone it is not), with a little noise.
  card_present: (random, _fraud, earlier) =>
    random.bernoulli(earlier.channel === 'chip' || earlier.channel === 'contactless' ? 0.98 : 0.02),
  // Fraud is often far from home; a legitimate card mostly stays close to it.
  distance_from_home_km: (random, fraud) =>
    round(fraud && random.bernoulli(0.6) ? random.exponential(900) : random.exponential(12), 1),
  // Stolen cards are used in bursts.
  minutes_since_last_transaction: (random, fraud) => round(random.exponential(fraud ? 25 : 720), 1),
  transactions_last_24h: (random, fraud) => random.poisson(fraud ? 7 : 2.5),
  hour_of_day: (random, fraud) =>
    fraud && random.bernoulli(0.45)
      ? NIGHT_HOURS[random.integer(0, NIGHT_HOURS.length - 1)]
      : (Math.round(random.normal(14, 4)) + 24) % 24,
};

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/**
 * Ways the world moves away from the data a model was trained on, for a learner to induce drift and watch the
 * pipeline react. Each changes how legitimate transactions behave (the bulk of the traffic), not the label's odds:
 * the inputs drift, and with a fixed fraud rate what a value says about fraud changes too.
 */
export const DRIFT_SCENARIOS = {
  'larger-amounts': {
    summary: 'legitimate amounts about 3 times larger (a premium card launch, inflation): amount drifts',
    behaviour: {
      amount: (random, fraud) =>
        round(fraud ? random.logNormal(4.6, 1.2) : random.logNormal(3.4 + Math.log(3), 1.0), 2),
    },
  },
  'online-at-night': {
    summary: 'legitimate customers buy online and at night far more often: channel, card_present and hour_of_day drift',
    behaviour: {
      channel: (random, fraud) =>
        random.weighted(fraud ? FRAUD_CHANNELS : { chip: 15, contactless: 20, online: 60, phone: 5 }),
      hour_of_day: (random, fraud) =>
        (fraud && random.bernoulli(0.45)) || (!fraud && random.bernoulli(0.35))
          ? NIGHT_HOURS[random.integer(0, NIGHT_HOURS.length - 1)]
          : (Math.round(random.normal(14, 4)) + 24) % 24,
    },
  },
  'merchant-mix': {
    summary: 'legitimate spending moves from grocery, restaurants and fuel to electronics and online services',
    behaviour: {
      merchant_category: (random, fraud) =>
        random.weighted(
          fraud
            ? FRAUD_MERCHANTS
            : {
                grocery: 10,
                restaurant: 8,
                fuel: 6,
                travel: 8,
                electronics: 22,
                online_services: 32,
                gambling: 3,
                other: 11,
              },
        ),
    },
  },
} as const satisfies Readonly<Record<string, { summary: string; behaviour: Readonly<Record<string, Behaviour>> }>>;

export type DriftScenario = keyof typeof DRIFT_SCENARIOS;

/** Whether `name` is one of {@link DRIFT_SCENARIOS}. */
export const isDriftScenario = (name: string): name is DriftScenario => Object.hasOwn(DRIFT_SCENARIOS, name);

/** Noise for a field the running example has no behaviour for, from its type, range and categories. */
function noise(field: FieldSpec, random: SeededRandom): FieldValue {
  if (field.categories !== undefined) return field.categories[random.integer(0, field.categories.length - 1)];
  if (field.type === 'boolean') return random.bernoulli(0.5);
  if (field.type === 'string') return random.uuid();
  const { min, max } = field.range ?? { min: 0, max: 1_000 };
  return field.type === 'int' ? random.integer(Math.ceil(min), Math.floor(max)) : round(random.uniform(min, max), 3);
}

/** Keeps a behaviour's value inside the schema's declared range and type, and rejects an unknown category. */
function conform(field: FieldSpec, value: FieldValue): FieldValue {
  if (field.categories !== undefined && !field.categories.includes(String(value))) {
    throw new Error(
      `Producer: field '${field.name}' drew '${String(value)}', which is not in the feature schema's categories ` +
        `(${field.categories.join(', ')}); update its behaviour in scripts/ingest/transactions.ts`,
    );
  }
  if (typeof value !== 'number') return value;
  const bounded = field.range === undefined ? value : Math.min(field.range.max, Math.max(field.range.min, value));
  return field.type === 'int' ? Math.round(bounded) : bounded;
}

/**
 * Generates `count` labelled records, lazily, so a large data set never sits in memory. Field types come from the
 * schema: an `int` is a whole number, a `timestamp` is epoch milliseconds (the wire format Firehose expects), the
 * label is a boolean or 0/1 as the schema declares it.
 */
export function* generateRecords(
  count: number,
  options: GeneratorOptions,
  schema: FeatureSchema = TRANSACTION_SCHEMA,
): Generator<GeneratedRecord> {
  const random = new SeededRandom(options.seed);
  const label = labelField(schema);
  const recordId = recordIdField(schema);
  let eventTime = options.startTime;
  const behaviours: Readonly<Record<string, Behaviour>> =
    options.drift === undefined
      ? TRANSACTION_BEHAVIOUR
      : { ...TRANSACTION_BEHAVIOUR, ...DRIFT_SCENARIOS[options.drift].behaviour };
  for (let index = 0; index < count; index++) {
    const isFraud = random.bernoulli(options.fraudRate);
    const behavesLikeFraud = random.bernoulli(
      isFraud ? FRAUD_LIKE_BEHAVIOUR.ofFraud : FRAUD_LIKE_BEHAVIOUR.ofLegitimate,
    );
    eventTime += Math.round(random.exponential(options.meanGapMs));
    const record: Record<string, FieldValue> = {};
    for (const field of schema.fields) {
      if (field === label) record[field.name] = field.type === 'boolean' ? isFraud : Number(isFraud);
      else if (field === recordId) record[field.name] = random.uuid();
      else if (field.type === 'timestamp') record[field.name] = eventTime;
      else {
        const behaviour = behaviours[field.name];
        record[field.name] = conform(
          field,
          behaviour === undefined ? noise(field, random) : behaviour(random, behavesLikeFraud, record),
        );
      }
    }
    yield record;
  }
}

/** The label of a generated record as a boolean, whichever way the schema stores it. */
export const isPositive = (record: GeneratedRecord, schema: FeatureSchema = TRANSACTION_SCHEMA): boolean =>
  Boolean(record[labelField(schema).name]);
