// Drives the gateway's web page in headless Chromium through one conversation about an image:
// draws a box region on the blue rectangle and asks what is in it, then follows up with "Where is
// the red object?" and "And the blue one?" (boxes on); saves a screenshot showing the
// whole conversation, then hovers turn 2; then checks that "New conversation" starts an empty
// conversation in which a refused question fails on its own turn, and that another image starts
// an empty conversation too. Records every /v1/ferret/ask request the page
// sent (without the image) and prints one JSON line with what the page showed.
//
//   node web-page-test.mjs <gateway-url> <image.png> <other-image.png> <screenshot.png> \
//       <blue x0,y0,x1,y1>
import { chromium } from "playwright-core";

const [url, imagePath, otherImagePath, screenshot, blueRect] = process.argv.slice(2);
const blue = blueRect.split(",").map(Number);
const TIMEOUT = 120000;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const result = { requests: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.on("request", request => {
    if (request.method() === "POST" && new URL(request.url()).pathname === "/v1/ferret/ask") {
      const body = JSON.parse(request.postData() || "{}");
      result.requests.push({ question: body.question, regions: body.regions,
                             history: body.history, imageChars: (body.image || "").length });
    }
  });
  await page.goto(url);
  await page.setInputFiles("#file", imagePath);
  await page.waitForFunction(() => document.getElementById("canvas").width > 640);
  result.modelNote = await page.textContent("#model-note");

  // drag a box inside the blue rectangle (image pixels -> screen pixels)
  const canvas = await page.$("#canvas");
  const rect = await canvas.boundingBox();
  const size = await page.evaluate(() => [canvas.width, canvas.height]);
  const sx = rect.width / size[0], sy = rect.height / size[1];
  const inset = 0.2;
  const w = blue[2] - blue[0], h = blue[3] - blue[1];
  const from = [rect.x + (blue[0] + inset * w) * sx, rect.y + (blue[1] + inset * h) * sy];
  const to = [rect.x + (blue[2] - inset * w) * sx, rect.y + (blue[3] - inset * h) * sy];
  await page.mouse.move(from[0], from[1]);
  await page.mouse.down();
  await page.mouse.move(to[0], to[1], { steps: 8 });
  await page.mouse.up();
  result.regions = await page.textContent("#regions");

  const turnCount = () => page.$$eval("#log .turn", turns => turns.length);
  async function ask(question, turn) {
    await page.fill("#question", question);
    await page.click("#ask");
    // a turn has data-state once it is answered (done) or failed (error)
    await page.waitForSelector(`#log .turn[data-turn="${turn}"][data-state]`, { timeout: TIMEOUT });
  }

  await page.check("#grounding");
  await ask("What is in <region_fea>?", 1);
  result.regionsAfterAsking = await page.textContent("#regions");
  await ask("Where is the red object?", 2);
  await ask("And the blue one?", 3);
  result.turns = await page.$$eval("#log .turn", turns => turns.map(t => ({
    question: t.querySelector(".question").textContent,
    answer: t.querySelector(".answer").textContent,
    state: t.dataset.state,
    visible: t.checkVisibility(),
  })));
  result.turnBoxes = JSON.parse(await page.getAttribute("#canvas", "data-turn-boxes") || "[]");
  await page.mouse.move(0, 0); // no turn under the mouse: every turn's boxes at full strength
  await page.screenshot({ path: screenshot, fullPage: true });
  // hovering a turn in the log highlights it (its boxes drawn on top, the others dimmed)
  await page.hover('#log .turn[data-turn="2"]');
  result.highlighted =
      await page.$$eval("#log .turn.highlight", turns => turns.map(t => t.dataset.turn));
  await page.mouse.move(0, 0);

  await page.click("#new-conversation");
  result.turnsAfterNewConversation = await turnCount();
  result.boxesAfterNewConversation =
      JSON.parse(await page.getAttribute("#canvas", "data-turn-boxes") || "[]");
  await ask("Where is the red object?", 1);
  // a refused question fails on its own turn and is left out of the history of the next one
  await ask("What is in <region_fea>?", 2);
  result.failedTurn = await page.$eval('#log .turn[data-turn="2"]', t => ({
    state: t.dataset.state, answer: t.querySelector(".answer").textContent,
    errorShown: t.querySelector(".answer").classList.contains("error") }));
  await ask("And the blue one?", 3);
  result.followUpAfterFailure = await page.textContent('#log .turn[data-turn="3"] .answer');
  result.turnsBeforeNewImage = await turnCount();

  await page.setInputFiles("#file", otherImagePath);
  await page.waitForFunction(() => document.querySelectorAll("#log .turn").length === 0,
                             null, { timeout: 10000 });
  result.turnsAfterNewImage = await turnCount();
  await ask("And the blue one?", 1);
  result.answerAfterNewImage = await page.textContent('#log .turn[data-turn="1"] .answer');

  // the API docs page: Swagger UI renders the gateway's /openapi.json
  await page.goto(new URL("/docs", url).href);
  await page.waitForSelector(".opblock-summary-path", { timeout: 20000 });
  result.docsOperations = await page.$$eval(".opblock", blocks => blocks.map(b =>
    b.querySelector(".opblock-summary-method").textContent + " " +
    b.querySelector(".opblock-summary-path").textContent.replace(/\u200b/g, "")));
  await page.screenshot({ path: screenshot.replace(/\.png$/, "-api-docs.png"), fullPage: true });
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
