package ai.ferretstream.inferenceserver;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The answer logic of the DEV {@code ferret_llm} (not a language model): it reads the colours the
 * dev encoders put into the first three feature channels and answers these kinds of question.
 *
 * <ul>
 *   <li>"Where is the &lt;colour&gt; object?" — the box (0..999) of the largest 4-connected group
 *       of local-map cells of that colour;
 *   <li>a question with {@code <region_fea>} — the colour of each referred region, decoded from its
 *       pooled H_a embedding;
 *   <li>anything else — the colours the image shows.
 * </ul>
 *
 * <p>Two follow-ups read the conversation's earlier turns (the whole rendered prompt), so that
 * multi-turn requests can be checked end to end:
 *
 * <ul>
 *   <li>"And the &lt;colour&gt; one?" after an earlier user turn that asked "Where is the ...?" —
 *       answered as "Where is the &lt;colour&gt; object?"; without such a turn the model says it
 *       does not know what "one" refers to;
 *   <li>"And this one? ... {@code <region_fea>}" (one region) — the region's colour related to the
 *       last region of the earlier turns: "It is blue; the earlier region was red." or "It is red
 *       too."; without an earlier region, its colour and that there is nothing to compare it with.
 * </ul>
 *
 * Region embeddings are matched to the prompt's {@code <region_fea>} in order, every turn's: the
 * question's regions are the last rows. Deterministic: sampling temperature, top_p and seed do not
 * change the answer.
 */
final class FerretDevLlm {

  static final float[] IMAGENET_MEAN = {0.485f, 0.456f, 0.406f};
  static final float[] IMAGENET_STD = {0.229f, 0.224f, 0.225f};
  static final float[] CLIP_MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
  static final float[] CLIP_STD = {0.26862954f, 0.26130258f, 0.27577711f};

  static final String REGION_TOKEN = "<region_fea>";
  static final String GROUNDING_SUFFIX = "Include the coordinates for each mentioned object.";
  static final String INTRO = "This is the Ferret Stream dev model.";

  private static final Pattern WHERE =
      Pattern.compile("where is the (\\w+)", Pattern.CASE_INSENSITIVE);

  /** "And the blue one?": a where-question about another colour, after an earlier one. */
  private static final Pattern AND_THE_ONE =
      Pattern.compile("^and the (\\w+) one\\??$", Pattern.CASE_INSENSITIVE);

  /** "And this one? [x1, y1, x2, y2] &lt;region_fea&gt;": a region compared with the last one. */
  private static final Pattern AND_THIS_ONE =
      Pattern.compile("^and (?:this|that) one\\b", Pattern.CASE_INSENSITIVE);

  static final String USER_ROLE = "USER: ";
  static final String ASSISTANT_ROLE = " ASSISTANT:";

  private FerretDevLlm() {}

  /**
   * What the dev model sees of one request.
   *
   * @param prompt the rendered conversation
   * @param localRows rows of the merged local feature map
   * @param localCols columns of the merged local feature map
   * @param localFeatures channels 0..2 of every local cell, row-major, DINOv2-normalised ({@code
   *     localRows * localCols * 3} values)
   * @param regionFeatures channels 0..2 of every region embedding (pooled H_a), {@code 3 * R}
   *     values
   */
  record Input(
      String prompt, int localRows, int localCols, float[] localFeatures, float[] regionFeatures) {

    Input {
      if (localRows < 1 || localCols < 1) {
        throw InferenceException.invalid(
            "local map must have at least one cell, is " + localRows + "x" + localCols);
      }
      if (localFeatures.length != localRows * localCols * 3) {
        throw new IllegalArgumentException("localFeatures must hold 3 values per cell");
      }
      if (regionFeatures.length % 3 != 0) {
        throw new IllegalArgumentException("regionFeatures must hold 3 values per region");
      }
    }

    int regionCount() {
      return regionFeatures.length / 3;
    }
  }

  /** The full answer text for a request. */
  static String answer(Input in) {
    List<String> turns = userTurns(in.prompt());
    String question = turns.get(turns.size() - 1);
    int regionsInPrompt = count(in.prompt(), REGION_TOKEN);
    if (regionsInPrompt != in.regionCount()) {
      throw InferenceException.invalid(
          "the prompt has "
              + regionsInPrompt
              + " "
              + REGION_TOKEN
              + " token(s) but region_embeddings has "
              + in.regionCount()
              + " row(s)");
    }
    int regionsInQuestion = count(question, REGION_TOKEN);
    int earlierRegions = regionsInPrompt - regionsInQuestion;
    if (regionsInQuestion == 1 && AND_THIS_ONE.matcher(question).find()) {
      return relate(in, earlierRegions);
    }
    if (regionsInQuestion > 0) {
      return regions(in, earlierRegions, regionsInQuestion);
    }
    Matcher another = AND_THE_ONE.matcher(question);
    if (another.matches()) {
      for (int t = turns.size() - 2; t >= 0; t--) {
        if (WHERE.matcher(turns.get(t)).find()) {
          return ground(in, another.group(1));
        }
      }
      return "I do not know what \"one\" refers to: no earlier question asked where something is.";
    }
    Matcher where = WHERE.matcher(question);
    if (where.find()) {
      return ground(in, where.group(1));
    }
    return describe(in);
  }

  /**
   * The text of the last user turn: after the last "USER: " up to the following " ASSISTANT:",
   * without a leading {@code <image>} line and without the grounding suffix.
   */
  static String lastUserTurn(String prompt) {
    List<String> turns = userTurns(prompt);
    return turns.get(turns.size() - 1);
  }

  /**
   * The text of every user turn, oldest first, each as {@link #lastUserTurn} cleans it; the whole
   * prompt as one turn when it has no "USER: ".
   */
  static List<String> userTurns(String prompt) {
    List<String> turns = new ArrayList<>();
    int user = prompt.indexOf(USER_ROLE);
    if (user < 0) {
      turns.add(clean(prompt));
      return turns;
    }
    while (user >= 0) {
      int from = user + USER_ROLE.length();
      int next = prompt.indexOf(USER_ROLE, from);
      String q = prompt.substring(from, next < 0 ? prompt.length() : next);
      int assistant = q.indexOf(ASSISTANT_ROLE);
      if (assistant >= 0) {
        q = q.substring(0, assistant);
      }
      turns.add(clean(q));
      user = next;
    }
    return turns;
  }

  private static String clean(String text) {
    String q = text.strip();
    if (q.startsWith("<image>")) {
      q = q.substring("<image>".length()).strip();
    }
    if (q.endsWith(GROUNDING_SUFFIX)) {
      q = q.substring(0, q.length() - GROUNDING_SUFFIX.length()).strip();
    }
    return q;
  }

  /** The palette colour of local cell {@code cell} (ImageNet de-normalisation). */
  static Palette cellColour(Input in, int cell) {
    float[] f = in.localFeatures();
    int p = cell * 3;
    return Palette.nearest(
        255f * (f[p] * IMAGENET_STD[0] + IMAGENET_MEAN[0]),
        255f * (f[p + 1] * IMAGENET_STD[1] + IMAGENET_MEAN[1]),
        255f * (f[p + 2] * IMAGENET_STD[2] + IMAGENET_MEAN[2]));
  }

  /**
   * The colour of a pooled H_a value: H = c/sIN − mIN/sIN + c/sCLIP − mCLIP/sCLIP per channel, so c
   * = (H + mIN/sIN + mCLIP/sCLIP) / (1/sIN + 1/sCLIP).
   */
  static Palette regionColour(float[] regionFeatures, int region) {
    float[] rgb = new float[3];
    for (int ch = 0; ch < 3; ch++) {
      float h = regionFeatures[region * 3 + ch];
      float c =
          (h + IMAGENET_MEAN[ch] / IMAGENET_STD[ch] + CLIP_MEAN[ch] / CLIP_STD[ch])
              / (1f / IMAGENET_STD[ch] + 1f / CLIP_STD[ch]);
      rgb[ch] = 255f * c;
    }
    return Palette.nearest(rgb[0], rgb[1], rgb[2]);
  }

  /**
   * The colour of the question's one region (row {@code earlier}) and how it relates to the last
   * region of the earlier turns (row {@code earlier - 1}).
   */
  private static String relate(Input in, int earlier) {
    Palette now = regionColour(in.regionFeatures(), earlier);
    if (earlier == 0) {
      return "It is "
          + now.word()
          + ". No earlier turn referred to a region, so there is nothing to compare it with.";
    }
    Palette before = regionColour(in.regionFeatures(), earlier - 1);
    if (before == now) {
      return "It is " + now.word() + " too.";
    }
    return "It is " + now.word() + "; the earlier region was " + before.word() + ".";
  }

  private static String regions(Input in, int first, int count) {
    if (count == 1) {
      return "It is " + regionColour(in.regionFeatures(), first).word() + ".";
    }
    StringBuilder sb = new StringBuilder();
    for (int k = 0; k < count; k++) {
      sb.append(k == 0 ? "Region " : ", region ")
          .append(k + 1)
          .append(" is ")
          .append(regionColour(in.regionFeatures(), first + k).word());
    }
    return sb.append('.').toString();
  }

  private static String ground(Input in, String word) {
    Optional<Palette> wanted = Palette.byWord(word);
    if (wanted.isEmpty()) {
      return "I do not know the colour \"" + word + "\". I know " + Palette.known() + ".";
    }
    Palette colour = wanted.get();
    int[] box = largestComponentBox(in, colour);
    if (box == null) {
      return "There is no " + colour.word() + " object in the image.";
    }
    return "The "
        + colour.word()
        + " object is at ["
        + box[0]
        + ", "
        + box[1]
        + ", "
        + box[2]
        + ", "
        + box[3]
        + "].";
  }

  /**
   * The 0..999 box {x1, y1, x2, y2} of the largest 4-connected group of cells of {@code colour}
   * (the first found in row-major order wins a tie), or null when no cell has that colour.
   */
  static int[] largestComponentBox(Input in, Palette colour) {
    int rows = in.localRows();
    int cols = in.localCols();
    int cells = rows * cols;
    boolean[] match = new boolean[cells];
    for (int i = 0; i < cells; i++) {
      match[i] = cellColour(in, i) == colour;
    }
    boolean[] seen = new boolean[cells];
    int[] queue = new int[cells];
    int bestSize = 0;
    int[] best = null;
    for (int start = 0; start < cells; start++) {
      if (!match[start] || seen[start]) {
        continue;
      }
      int head = 0;
      int tail = 0;
      queue[tail++] = start;
      seen[start] = true;
      int r0 = rows;
      int r1 = -1;
      int c0 = cols;
      int c1 = -1;
      while (head < tail) {
        int cell = queue[head++];
        int r = cell / cols;
        int c = cell % cols;
        r0 = Math.min(r0, r);
        r1 = Math.max(r1, r);
        c0 = Math.min(c0, c);
        c1 = Math.max(c1, c);
        if (r > 0) {
          tail = visit(cell - cols, match, seen, queue, tail);
        }
        if (r < rows - 1) {
          tail = visit(cell + cols, match, seen, queue, tail);
        }
        if (c > 0) {
          tail = visit(cell - 1, match, seen, queue, tail);
        }
        if (c < cols - 1) {
          tail = visit(cell + 1, match, seen, queue, tail);
        }
      }
      if (tail > bestSize) {
        bestSize = tail;
        best = new int[] {r0, r1, c0, c1};
      }
    }
    if (best == null) {
      return null;
    }
    int x1 = best[2] * 1000 / cols;
    int y1 = best[0] * 1000 / rows;
    int x2 = Math.min(999, (best[3] + 1) * 1000 / cols - 1);
    int y2 = Math.min(999, (best[1] + 1) * 1000 / rows - 1);
    return new int[] {x1, y1, x2, y2};
  }

  private static int visit(int cell, boolean[] match, boolean[] seen, int[] queue, int tail) {
    if (match[cell] && !seen[cell]) {
      seen[cell] = true;
      queue[tail++] = cell;
    }
    return tail;
  }

  private static String describe(Input in) {
    int cells = in.localRows() * in.localCols();
    Palette[] palette = Palette.values();
    int[] counts = new int[palette.length];
    for (int i = 0; i < cells; i++) {
      counts[cellColour(in, i).ordinal()]++;
    }
    List<Palette> shown = new ArrayList<>();
    for (Palette p : palette) {
      if (counts[p.ordinal()] * 50L > cells) { // more than 2 % of the cells
        shown.add(p);
      }
    }
    shown.sort((a, b) -> Integer.compare(counts[b.ordinal()], counts[a.ordinal()]));
    StringBuilder sb = new StringBuilder(INTRO).append(" The image shows ");
    for (int i = 0; i < shown.size(); i++) {
      if (i > 0) {
        sb.append(i == shown.size() - 1 ? " and " : ", ");
      }
      sb.append(shown.get(i).word());
    }
    return sb.append('.').toString();
  }

  private static int count(String text, String token) {
    int n = 0;
    for (int i = text.indexOf(token); i >= 0; i = text.indexOf(token, i + token.length())) {
      n++;
    }
    return n;
  }

  /** Receives generated pieces. */
  interface PieceSink {
    void piece(String text, boolean last);

    boolean cancelled();
  }

  /** Why generation ended. */
  enum Finish {
    /** the answer was complete */
    END,
    /** max_tokens pieces were sent */
    LENGTH,
    /** a stop string was reached */
    STOP,
    /** the client went away */
    CANCELLED
  }

  /**
   * Streams {@code pieces}: at most {@code maxTokens} of them, checking cancellation before each.
   * Generation ends before the first occurrence of a stop string, which is never sent: text that
   * could be the start of a stop string is held back until the next piece shows whether it is (so a
   * response may carry less or more than one piece around such text).
   */
  static Finish stream(List<String> pieces, SamplingParameters params, PieceSink sink) {
    int limit = Math.min(pieces.size(), params.maxTokens());
    List<String> stops = params.stop();
    String pending = "";
    for (int i = 0; i < limit; i++) {
      if (sink.cancelled()) {
        return Finish.CANCELLED;
      }
      String text = pending + pieces.get(i);
      boolean last = i == limit - 1;
      int stopAt = firstStop(text, stops);
      if (stopAt >= 0) {
        if (stopAt > 0) {
          sink.piece(text.substring(0, stopAt), true);
        }
        return Finish.STOP;
      }
      int hold = last ? 0 : heldBack(text, stops);
      pending = text.substring(text.length() - hold);
      String now = text.substring(0, text.length() - hold);
      if (!now.isEmpty()) {
        sink.piece(now, last);
      }
    }
    return limit < pieces.size() ? Finish.LENGTH : Finish.END;
  }

  private static int firstStop(String text, List<String> stops) {
    int first = -1;
    for (String stop : stops) {
      int at = text.indexOf(stop);
      if (at >= 0 && (first < 0 || at < first)) {
        first = at;
      }
    }
    return first;
  }

  /** Length of the longest suffix of text that is a proper prefix of a stop string. */
  private static int heldBack(String text, List<String> stops) {
    int hold = 0;
    for (String stop : stops) {
      for (int k = Math.min(stop.length() - 1, text.length()); k > hold; k--) {
        if (text.regionMatches(text.length() - k, stop, 0, k)) {
          hold = k;
          break;
        }
      }
    }
    return hold;
  }
}
