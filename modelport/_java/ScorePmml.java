import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.dmg.pmml.DataType;
import org.jpmml.evaluator.Evaluator;
import org.jpmml.evaluator.EvaluatorUtil;
import org.jpmml.evaluator.InputField;
import org.jpmml.evaluator.ModelField;

/**
 * Scores a CSV with a PMML model the way a plain Java service uses JPMML-Evaluator.
 *
 *   java -cp <jpmml jars>:<classes> ScorePmml model.pmml in.csv out.csv [--verify]
 *
 * in.csv: a header of PMML input field names, then one row per record (empty cell = missing).
 * out.csv: one column per target field and per output field, values decoded; doubles printed with
 * Double.toString, which round-trips exactly. Timings go to stderr as one "modelport-timing" line;
 * eval_s covers only the evaluation loop (typed arguments in, decoded results out). With --verify
 * the ModelVerification block runs first; a failure prints "modelport-verify FAILED ..." and exits 3.
 */
public final class ScorePmml {

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: ScorePmml model.pmml in.csv out.csv [--verify]");
            System.exit(2);
        }
        String report = score(args[0], args[1], args[2], args.length > 3 && "--verify".equals(args[3]));
        System.err.println(report);
        if (report.startsWith("modelport-verify FAILED")) {
            System.exit(3);
        }
    }

    /**
     * The whole program without the process: modelport calls it in the JVM it already runs (JPype)
     * rather than starting another. Returns the "modelport-timing" line, or "modelport-verify
     * FAILED ..." when --verify fails (nothing is scored then).
     */
    public static String score(String pmml, String inCsv, String outCsv, boolean verify) throws Exception {
        long t0 = System.nanoTime();
        Evaluator evaluator = PmmlBatch.load(pmml);
        long t1 = System.nanoTime();
        String verified = "";
        if (verify) {
            String failure = PmmlBatch.verify(evaluator);
            if (failure != null) {
                return "modelport-verify FAILED " + failure.replace('\n', ' ');
            }
            verified = "modelport-verify OK\n";
        }
        long t2 = System.nanoTime();

        List<String[]> rows = readCsv(inCsv);
        String[] header = rows.remove(0);
        Map<String, DataType> types = new HashMap<>();
        for (InputField field : evaluator.getInputFields()) {
            types.put(field.getName(), field.getDataType());
        }
        // Parse the text once, before the timed loop, into the Java types the fields declare.
        Object[][] table = new Object[rows.size()][];
        for (int r = 0; r < rows.size(); r++) {
            String[] cells = rows.get(r);
            Object[] typed = new Object[header.length];
            for (int c = 0; c < header.length; c++) {
                typed[c] = parse(cells[c], types.get(header[c]));
            }
            table[r] = typed;
        }

        List<String> resultNames = new ArrayList<>();
        for (ModelField field : evaluator.getTargetFields()) {
            resultNames.add(field.getName());
        }
        for (ModelField field : evaluator.getOutputFields()) {
            resultNames.add(field.getName());
        }

        long t3 = System.nanoTime();
        Object[][] results = new Object[table.length][resultNames.size()];
        Map<String, Object> arguments = new HashMap<>(2 * header.length);
        for (int r = 0; r < table.length; r++) {
            arguments.clear();
            for (int c = 0; c < header.length; c++) {
                arguments.put(header[c], table[r][c]);
            }
            Map<String, ?> row = evaluator.evaluate(arguments);
            for (int j = 0; j < resultNames.size(); j++) {
                results[r][j] = EvaluatorUtil.decode(row.get(resultNames.get(j)));
            }
        }
        long t4 = System.nanoTime();

        try (BufferedWriter out = Files.newBufferedWriter(Paths.get(outCsv), StandardCharsets.UTF_8)) {
            out.write(join(resultNames.toArray()));
            out.newLine();
            for (Object[] row : results) {
                out.write(join(row));
                out.newLine();
            }
        }
        return verified + String.format("modelport-timing load_s=%.6f verify_s=%.6f eval_s=%.6f rows=%d",
                (t1 - t0) / 1e9, (t2 - t1) / 1e9, (t4 - t3) / 1e9, table.length);
    }

    static Object parse(String cell, DataType type) {
        if (cell == null || cell.isEmpty() || "NaN".equalsIgnoreCase(cell)) {
            return null;
        }
        if (type == null) {
            return cell;
        }
        switch (type) {
            case DOUBLE:
                return Double.parseDouble(cell);
            case FLOAT:
                return Float.parseFloat(cell);
            case INTEGER:
                double value = Double.parseDouble(cell);
                return value == Math.rint(value) ? (Object) (long) value : (Object) value;
            default:
                return cell;
        }
    }

    static String join(Object[] values) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < values.length; i++) {
            if (i > 0) {
                sb.append(',');
            }
            Object v = values[i];
            if (v == null) {
                continue;
            }
            String s = (v instanceof Number) ? Double.toString(((Number) v).doubleValue()) : v.toString();
            if (s.indexOf(',') >= 0 || s.indexOf('"') >= 0 || s.indexOf('\n') >= 0) {
                s = '"' + s.replace("\"", "\"\"") + '"';
            }
            sb.append(s);
        }
        return sb.toString();
    }

    /** RFC 4180 subset: comma separated, double-quoted cells with "" escapes, no newlines in cells. */
    static List<String[]> readCsv(String path) throws IOException {
        List<String[]> rows = new ArrayList<>();
        try (BufferedReader in = Files.newBufferedReader(Paths.get(path), StandardCharsets.UTF_8)) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.isEmpty()) {
                    continue;
                }
                List<String> cells = new ArrayList<>();
                StringBuilder cell = new StringBuilder();
                boolean quoted = false;
                for (int i = 0; i < line.length(); i++) {
                    char ch = line.charAt(i);
                    if (quoted) {
                        if (ch == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
                            cell.append('"');
                            i++;
                        } else if (ch == '"') {
                            quoted = false;
                        } else {
                            cell.append(ch);
                        }
                    } else if (ch == '"') {
                        quoted = true;
                    } else if (ch == ',') {
                        cells.add(cell.toString());
                        cell.setLength(0);
                    } else {
                        cell.append(ch);
                    }
                }
                cells.add(cell.toString());
                rows.add(cells.toArray(new String[0]));
            }
        }
        return rows;
    }
}
