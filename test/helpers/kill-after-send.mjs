/**
 * A test hook for a detector child process (node --import): SIGKILLs the process right after the
 * first send to the topic REE_TEST_KILL_AFTER_SEND_TO whose records carry the text
 * REE_TEST_KILL_AFTER_SEND_MATCHING, whether the send is a producer's or a transaction's. So a
 * crash lands exactly between an output's send and whatever would make it count (a transaction's
 * commit, the published markers, the offset commit), with no guessing at moments. With
 * REE_TEST_KILL_AT=commit, a transaction that sent such records is let commit first, and the
 * process dies right after: between the commit and what follows it (the published markers).
 */
import kafkajs from 'kafkajs';

const topic = process.env.REE_TEST_KILL_AFTER_SEND_TO;
const matching = process.env.REE_TEST_KILL_AFTER_SEND_MATCHING ?? '';
const atCommit = process.env.REE_TEST_KILL_AT === 'commit';

if (topic) {
  const carries = (record) => record.topic === topic && record.messages.some((m) => String(m.value ?? '').includes(matching));
  const die = () => process.kill(process.pid, 'SIGKILL');
  const producer = kafkajs.Kafka.prototype.producer;
  kafkajs.Kafka.prototype.producer = function (...args) {
    const p = producer.apply(this, args);
    const send = p.send;
    p.send = async function (record) {
      const result = await send.call(this, record);
      if (!atCommit && carries(record)) die();
      return result;
    };
    const transaction = p.transaction;
    p.transaction = async function (...targs) {
      const t = await transaction.apply(this, targs);
      let carried = false;
      const tsend = t.send;
      t.send = async function (record) {
        const result = await tsend.call(this, record);
        if (carries(record)) {
          if (atCommit) carried = true;
          else die();
        }
        return result;
      };
      const commit = t.commit;
      t.commit = async function (...cargs) {
        const result = await commit.apply(this, cargs);
        if (carried) die();
        return result;
      };
      return t;
    };
    return p;
  };
}
