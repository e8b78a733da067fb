// Drives the gateway's web page in headless Chromium: chooses an image, draws a box region on the
// blue rectangle, asks what is in it, then asks for the red object with boxes; prints one JSON
// line with what the page showed, and saves a screenshot.
//
//   node web-page-test.mjs <gateway-url> <image.png> <screenshot.png> <blue x0,y0,x1,y1>
import { chromium } from "playwright-core";

const [url, imagePath, screenshot, blueRect] = process.argv.slice(2);
const blue = blueRect.split(",").map(Number);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const result = {};
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
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

  await page.fill("#question", "What is in <region_fea>?");
  await page.click("#ask");
  await page.waitForSelector("#answer[data-state=done], #answer[data-state=error]", { timeout: 120000 });
  result.referringAnswer = await page.textContent("#answer");

  await page.click("#clear");
  await page.fill("#question", "Where is the red object?");
  await page.check("#grounding");
  await page.click("#ask");
  await page.waitForSelector("#answer[data-state=done], #answer[data-state=error]", { timeout: 120000 });
  result.groundingAnswer = await page.textContent("#answer");
  result.boxes = JSON.parse(await page.getAttribute("#canvas", "data-answer-boxes") || "[]");
  await page.screenshot({ path: screenshot, fullPage: true });
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
