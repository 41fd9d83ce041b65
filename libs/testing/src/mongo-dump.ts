import mongoose from 'mongoose';
import { stack } from './stack';

/** Every document of every collection in the databases whose names start with `prefix`, as EJSON text. */
export async function dumpDatabases(prefix: string): Promise<{ where: string; text: string }[]> {
  const conn = await mongoose.createConnection(stack.mongoUrl).asPromise();
  try {
    const client = conn.getClient();
    const { databases } = await client.db('admin').admin().listDatabases();
    const out: { where: string; text: string }[] = [];
    for (const { name } of databases.filter((d) => d.name.startsWith(prefix))) {
      const db = client.db(name);
      for (const { name: collection } of await db.listCollections().toArray()) {
        for (const doc of await db.collection(collection).find().toArray()) {
          out.push({ where: `${name}.${collection}`, text: mongoose.mongo.BSON.EJSON.stringify(doc) });
        }
      }
    }
    return out;
  } finally {
    await conn.close();
  }
}
