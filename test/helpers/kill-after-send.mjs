/**
 * A test hook for a detector child process (node --import): SIGKILLs the process right after the
 * first send to the topic REE_TEST_KILL_AFTER_SEND_TO whose records carry the text
 * REE_TEST_KILL_AFTER_SEND_MATCHING, whether the send is a producer's or a transaction's. So a
 * crash lands exactly between an output's send and whatever would make it count (a transaction's
 * commit, the published markers, the offset commit), with no guessing at moments.
 */
import kafkajs from 'kafkajs';

const topic = process.env.REE_TEST_KILL_AFTER_SEND_TO;
const matching = process.env.REE_TEST_KILL_AFTER_SEND_MATCHING ?? '';

if (topic) {
  const carries = (record) => record.topic === topic && record.messages.some((m) => String(m.value ?? '').includes(matching));
  const killingAfter = (send) =>
    async function (record) {
      const result = await send.call(this, record);
      if (carries(record)) process.kill(process.pid, 'SIGKILL');
      return result;
    };
  const producer = kafkajs.Kafka.prototype.producer;
  kafkajs.Kafka.prototype.producer = function (...args) {
    const p = producer.apply(this, args);
    p.send = killingAfter(p.send);
    const transaction = p.transaction;
    p.transaction = async function (...targs) {
      const t = await transaction.apply(this, targs);
      t.send = killingAfter(t.send);
      return t;
    };
    return p;
  };
}
