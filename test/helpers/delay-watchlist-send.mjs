/**
 * A test hook for a detector child process (node --import): the first transaction of a watchlist
 * producer (transactional id `<group>.watchlist.<partition>`) that sends a record to the topic
 * REE_TEST_DELAY_SEND_TO carrying a watchlist-match waits REE_TEST_DELAY_MS before sending it. By
 * then the watchlist path has claimed the alert (watchlist-consumer.ts), so a test can run a
 * report transaction elsewhere while the claim is held, with no guessing at moments.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';

const topic = process.env.REE_TEST_DELAY_SEND_TO;
const delayMs = Number(process.env.REE_TEST_DELAY_MS ?? 0);

if (topic) {
  let delayed = false;
  const carries = (record) => record.topic === topic && record.messages.some((m) => String(m.value ?? '').includes('"ruleId":"watchlist-match"'));
  const producer = kafkajs.Kafka.prototype.producer;
  kafkajs.Kafka.prototype.producer = function (...args) {
    const p = producer.apply(this, args);
    if (!String(args[0]?.transactionalId ?? '').includes('.watchlist.')) return p;
    const transaction = p.transaction;
    p.transaction = async function (...targs) {
      const t = await transaction.apply(this, targs);
      const tsend = t.send;
      t.send = async function (record) {
        if (!delayed && carries(record)) {
          delayed = true;
          await sleep(delayMs);
        }
        return tsend.call(this, record);
      };
      return t;
    };
    return p;
  };
}
