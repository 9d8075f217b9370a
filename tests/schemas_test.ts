// The MCP output schemas (zod) and the broker's result types must describe the
// same shapes: this file does not type-check if they drift apart, and the
// runtime test parses real results with the schemas.

import assert from "node:assert/strict";
import type { z } from "zod";
import * as schemas from "../mcp/schemas.ts";
import type * as types from "../mod.ts";
import { tempBroker } from "./_helpers.ts";

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
function same<A, B>(_proof: Same<A, B>): void {}

same<z.infer<typeof schemas.MessageSchema>, types.Message>(true);
same<z.infer<typeof schemas.ArchivedMessageSchema>, types.ArchivedMessage>(
  true,
);
same<z.infer<typeof schemas.RoomMessageSchema>, types.RoomMessage>(true);
same<z.infer<typeof schemas.RegisterResultSchema>, types.RegisterResult>(true);
same<z.infer<typeof schemas.WhoamiResultSchema>, types.WhoamiResult>(true);
same<z.infer<typeof schemas.PeerInfoSchema>, types.PeerInfo>(true);
same<z.infer<typeof schemas.ListResultSchema>, types.ListResult>(true);
same<z.infer<typeof schemas.SendReceiptSchema>, types.SendReceipt>(true);
same<z.infer<typeof schemas.SendAllResultSchema>, types.SendAllResult>(true);
same<z.infer<typeof schemas.InboxResultSchema>, types.InboxResult>(true);
same<z.infer<typeof schemas.HistoryResultSchema>, types.HistoryResult>(true);
same<
  z.infer<typeof schemas.MessageStatusResultSchema>,
  types.MessageStatusResult
>(
  true,
);
same<z.infer<typeof schemas.JoinRoomResultSchema>, types.JoinRoomResult>(true);
same<z.infer<typeof schemas.LeaveRoomResultSchema>, types.LeaveRoomResult>(
  true,
);
same<z.infer<typeof schemas.SendRoomResultSchema>, types.SendRoomResult>(true);
same<z.infer<typeof schemas.RoomHistoryResultSchema>, types.RoomHistoryResult>(
  true,
);
same<z.infer<typeof schemas.ListRoomsResultSchema>, types.ListRoomsResult>(
  true,
);
same<z.infer<typeof schemas.MyRoomsResultSchema>, types.MyRoomsResult>(true);
same<z.infer<typeof schemas.SweepResultSchema>, types.SweepResult>(true);
same<z.infer<typeof schemas.TailLogResultSchema>, types.TailLogResult>(true);

Deno.test("output schemas accept real broker results", async () => {
  await using broker = await tempBroker();
  const check = (schema: z.ZodType, value: unknown) =>
    assert.deepEqual(schema.parse(value), value);
  check(
    schemas.RegisterResultSchema,
    await broker.register("s-a", { alias: "storm-beacon" }),
  );
  await broker.register("s-b", { alias: "tide-runner" });
  check(schemas.WhoamiResultSchema, await broker.whoami("s-a"));
  check(
    schemas.SendReceiptSchema,
    await broker.send("s-a", { to_alias: "tide-runner", content: "x" }),
  );
  check(schemas.ListResultSchema, await broker.list());
  check(schemas.InboxResultSchema, await broker.peekInbox("s-b"));
  check(schemas.InboxResultSchema, await broker.pollInbox("s-b"));
  check(schemas.HistoryResultSchema, await broker.history("s-b"));
  check(
    schemas.JoinRoomResultSchema,
    await broker.joinRoom("s-a", { room_id: "r" }),
  );
  check(
    schemas.SendRoomResultSchema,
    await broker.sendRoom("s-a", { room_id: "r", content: "x" }),
  );
  check(
    schemas.RoomHistoryResultSchema,
    await broker.roomHistory({ room_id: "r" }),
  );
  check(schemas.ListRoomsResultSchema, await broker.listRooms());
  check(schemas.MyRoomsResultSchema, await broker.myRooms("s-a"));
  check(
    schemas.LeaveRoomResultSchema,
    await broker.leaveRoom("s-a", { room_id: "r" }),
  );
  check(
    schemas.SendAllResultSchema,
    await broker.sendAll("s-a", { content: "y" }),
  );
  check(schemas.SweepResultSchema, await broker.sweep());
  check(schemas.TailLogResultSchema, await broker.tailLog());
});
