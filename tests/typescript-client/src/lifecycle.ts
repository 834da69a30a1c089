// A referral's lifecycle, a meeting and a webhook, through a client generated from Chapter's OpenAPI document
// (openapi-typescript's types, openapi-fetch's calls). `tsc --strict` over this file is the contract test: a field the
// document wrongly says is optional (or nullable) in an answer, or required in a request, makes it fail to compile.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Schemas = components["schemas"];

const baseUrl = required("BASE_URL");
const operatorToken = required("OPERATOR_TOKEN");

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function as(token: string) {
  return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });
}

/** The answer's data when it came with the expected status; anything else stops the run, saying what came instead. */
function expect<T>(what: string, status: number, answer: { data?: T; error?: unknown; response: Response }): T {
  if (answer.response.status !== status || answer.data === undefined)
    throw new Error(`${what}: expected ${status}, got ${answer.response.status} ${JSON.stringify(answer.error)}`);
  console.log(`${what}: ${status}`);
  return answer.data;
}

const operator = as(operatorToken);
const chapterId = `ts-${crypto.randomUUID().slice(0, 8)}`;
const chapter = { params: { path: { chapterId } } };

const created: Schemas["ChapterView"] = expect("create the chapter", 201, await operator.POST("/api/chapters", {
  body: { id: chapterId, name: "Hà Nội Trung Tâm", timeZone: "Asia/Ho_Chi_Minh", currency: "VND" },
}));
const currency: string = created.currency;

// role left out: optional in the document, a member by default.
const lena = expect("add the leader", 201, await operator.POST("/api/chapters/{chapterId}/members", {
  ...chapter, body: { name: "Lena Berg", profession: "Lawyer", languages: ["sv", "vi"], role: "leader" },
}));
const anna = expect("add Anna", 201, await operator.POST("/api/chapters/{chapterId}/members", {
  ...chapter, body: { name: "Anna Berg", profession: "Accountant", languages: ["sv"] },
}));
const bram = expect("add Bram", 201, await operator.POST("/api/chapters/{chapterId}/members", {
  ...chapter, body: { name: "Bram de Vries", profession: "Realtor", languages: ["nl"] },
}));
const role: "member" | "leader" = anna.role;
if (role !== "member") throw new Error(`a member added without a role is a ${role}`);

async function signIn(member: Schemas["MemberView"]): Promise<string> {
  const issued = expect(`a token for ${member.name}`, 201, await operator.POST("/api/chapters/{chapterId}/members/{memberId}/tokens", {
    params: { path: { chapterId, memberId: member.id } }, body: { label: "typescript client" },
  }));
  return issued.token;
}
const [asLena, asAnna, asBram] = [as(await signIn(lena)), as(await signIn(anna)), as(await signIn(bram))];

// A referral: given (the giver is whoever signs in; referralId and giverId left out), accepted, closed, thanked.
const given = expect("give a referral", 201, await asAnna.POST("/api/chapters/{chapterId}/referrals", {
  ...chapter,
  body: {
    receiverId: bram.id, need: "A new office lease", temperature: "warm", language: "vi",
    prospect: { name: "Nguyễn Thị Ánh", email: "anh@example.vn", consent: true },
  },
}));
const referral = { params: { path: { chapterId, referralId: given.id } } };
const prospectName: string | undefined = given.prospect?.name;
if (prospectName !== "Nguyễn Thị Ánh") throw new Error(`the giver reads the prospect as ${prospectName}`);

expect("accept it", 200, await asBram.POST("/api/chapters/{chapterId}/referrals/{referralId}/accept", { ...referral, body: {} }));
const closed = expect("close it, won", 200, await asBram.POST("/api/chapters/{chapterId}/referrals/{referralId}/close", {
  ...referral, body: { outcome: "won", value: { amount: 25_000_000 } },
}));
const outcome: "won" | "lost" | null = closed.outcome;
const value: Schemas["Money"] | null = closed.value;
if (outcome !== "won" || value?.amount !== 25_000_000 || value.currency !== currency)
  throw new Error(`closed as ${outcome} ${JSON.stringify(value)}`);
const thanked = expect("thank the giver", 200, await asBram.POST("/api/chapters/{chapterId}/referrals/{referralId}/thank", {
  ...referral, body: { note: "Cảm ơn, Anna!" },
}));
const thankedAt: string | null = thanked.thankedAt;
if (thanked.status !== "thanked" || thankedAt === null) throw new Error(`the referral is ${thanked.status}`);

// A problem answer, typed: the field at fault is named.
const refused = await asAnna.POST("/api/chapters/{chapterId}/referrals", {
  ...chapter, body: { receiverId: bram.id, need: "", temperature: "hot", language: "sv", prospect: { name: "Per", consent: true } },
});
const problem = refused.error;
const named: string[] | undefined = problem !== undefined && "errors" in problem ? problem.errors["need"] : undefined;
if (refused.response.status !== 400 || named === undefined) throw new Error(`an empty need answered ${refused.response.status}`);
console.log("an empty need: 400 naming it");

// A meeting: opened, a member marked present, closed.
const today = new Date().toISOString().slice(0, 10);
const meeting = expect("open the meeting", 201, await asLena.POST("/api/chapters/{chapterId}/meetings", { ...chapter, body: { date: today } }));
const marked = expect("mark Anna present", 200, await asLena.PUT("/api/chapters/{chapterId}/meetings/{meetingId}/attendance/{memberId}", {
  params: { path: { chapterId, meetingId: meeting.id, memberId: anna.id } }, body: { status: "present" },
}));
const present: number = marked.counts.present;
if (present !== 1) throw new Error(`${present} present`);
const final = expect("close the meeting", 200, await asLena.POST("/api/chapters/{chapterId}/meetings/{meetingId}/close", {
  params: { path: { chapterId, meetingId: meeting.id } },
}));
if (final.status !== "closed" || final.closedAt === null) throw new Error(`the meeting is ${final.status}`);

// A webhook: registered (its secret shown once), read back, its secret rotated.
const webhook = expect("register a webhook", 201, await asLena.POST("/api/chapters/{chapterId}/webhooks", {
  ...chapter, body: { url: "https://93.184.216.34/chapter", events: ["referral.given.v2", "referral.thanked.v1"], label: "CRM" },
}));
const secret: string = webhook.secret;
const hook = { params: { path: { chapterId, webhookId: webhook.id } } };
const registered = expect("read the webhook", 200, await asLena.GET("/api/chapters/{chapterId}/webhooks/{webhookId}", hook));
const failingSince: string | null = registered.failingSince;
const rotated = expect("rotate its secret", 200, await asLena.POST("/api/chapters/{chapterId}/webhooks/{webhookId}/rotate-secret", hook));
if (!secret.startsWith("whsec_") || rotated.secret === secret || failingSince !== null)
  throw new Error("the rotated secret is not a new one");

console.log("the lifecycle, the meeting and the webhook went through");
