// A Spark job that scores a modelport PMML artifact inside the JVM, with no Python anywhere.
//
//   spark-submit --class ScoreSpark --jars <jpmml-evaluator-spark and its dependencies> modelport-spark-job.jar \
//       --pmml model.pmml[,second.pmml] --input features.parquet --output scored.parquet \
//       [--input-format parquet|csv|orc|json] [--output-format ...] [--keep id,...]
//       [--array features=x1,x2,...] [--force] [--allow-row-errors]
//
// Input columns are the PMML input fields (x1..xN), or an array column split into them (--array).
// Output: the --keep columns, every PMML output field, and modelport_error (null, or why the row failed).
// The output is written under a temporary name and renamed when complete.
// Exit codes: 0 ok, 1 rows failed (output kept), 2 bad input (missing column, existing output).
// `modelport score out/ --print-spark-submit` prints the full command for an artifact directory.

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.size;
import static org.apache.spark.sql.functions.when;

import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.jpmml.evaluator.Evaluator;
import org.jpmml.evaluator.InputField;
import org.jpmml.evaluator.LoadingModelEvaluatorBuilder;
import org.jpmml.evaluator.OutputField;
import org.jpmml.evaluator.spark.FlatPMMLTransformer;
import scala.Tuple2;

public class ScoreSpark {

    static final String ERROR_COL = "modelport_error";

    static class BadInput extends Exception {
        BadInput(String message) { super(message); }
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = new LinkedHashMap<>();
        Map<String, List<String>> arrays = new LinkedHashMap<>();
        Set<String> flags = new LinkedHashSet<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--force") || a.equals("--allow-row-errors")) {
                flags.add(a);
            } else if (a.equals("--array") && i + 1 < args.length) {
                String[] kv = args[++i].split("=", 2);
                arrays.put(kv[0], Arrays.asList(kv[1].split(",")));
            } else if (a.startsWith("--") && i + 1 < args.length) {
                opt.put(a.substring(2), args[++i]);
            } else {
                System.err.println("error: unexpected argument " + a);
                System.exit(2);
            }
        }
        for (String required : new String[] {"pmml", "input", "output"}) {
            if (!opt.containsKey(required)) {
                System.err.println("error: --" + required + " is required (hint: see the usage at the top of ScoreSpark.java)");
                System.exit(2);
            }
        }
        // an existing output is refused before Spark starts (no cluster resources for a bad call)
        Path outPath = new Path(opt.get("output"));
        if (!flags.contains("--force") && outputFileSystem(outPath).exists(outPath)) {
            System.err.println("error: " + opt.get("output") + " exists (hint: pass --force to replace it)");
            System.exit(2);
        }
        SparkSession spark = SparkSession.builder().appName("modelport-score-pmml").getOrCreate();
        spark.sparkContext().setLogLevel("ERROR");
        int code;
        try {
            code = run(spark, opt, arrays, flags);
        } catch (BadInput e) {
            System.err.println("error: " + e.getMessage());
            code = 2;
        }
        spark.stop();
        System.exit(code);
    }

    /** The output's file system as Spark will see it: Hadoop's defaults plus spark-submit's spark.hadoop.* settings. */
    static FileSystem outputFileSystem(Path outPath) throws IOException {
        Configuration conf = new Configuration();
        for (Tuple2<String, String> kv : new SparkConf().getAllWithPrefix("spark.hadoop.")) {
            conf.set(kv._1(), kv._2());
        }
        return outPath.getFileSystem(conf);
    }

    static String format(String path, String given) {
        if (given != null) return given;
        String p = path.toLowerCase().replaceAll("/+$", "");
        for (String f : new String[] {"csv", "orc", "json"}) {
            if (p.endsWith("." + f)) return f;
        }
        return "parquet";
    }

    static Column q(String name) {
        return col("`" + name.replace("`", "``") + "`");
    }

    static int run(SparkSession spark, Map<String, String> opt, Map<String, List<String>> arrays, Set<String> flags)
            throws Exception {
        String input = opt.get("input"), output = opt.get("output");
        Path outPath = new Path(output);
        FileSystem fs = outPath.getFileSystem(spark.sparkContext().hadoopConfiguration());  // existence: checked in main
        List<Evaluator> evaluators = new ArrayList<>();
        for (String pmml : opt.get("pmml").split(",")) {
            Evaluator evaluator = new LoadingModelEvaluatorBuilder().load(new File(pmml)).build();
            evaluator.verify();  // the document's ModelVerification block, before any row is read
            evaluators.add(evaluator);
        }
        String inFormat = format(input, opt.get("input-format"));
        Dataset<Row> df = spark.read().format(inFormat).option("header", "true").load(input);
        Set<String> present = new LinkedHashSet<>(Arrays.asList(df.columns()));

        // each PMML input field: its own column, or an element of an array column (--array)
        Map<String, Column> fieldExprs = new LinkedHashMap<>();
        List<Column> checks = new ArrayList<>();
        for (Map.Entry<String, List<String>> e : arrays.entrySet()) {
            List<String> fields = e.getValue();
            if (present.containsAll(fields) || !present.contains(e.getKey())) continue;
            Column array = q(e.getKey()).cast("array<double>");
            for (int i = 0; i < fields.size(); i++) {
                fieldExprs.put(fields.get(i), functions.get(array, lit(i)));
            }
            checks.add(when(array.isNull(), lit("input '" + e.getKey() + "' is null"))
                    .when(size(array).notEqual(fields.size()),
                          concat(lit("input '" + e.getKey() + "' has "), size(array).cast("string"),
                                 lit(" values, expected " + fields.size()))));
        }
        List<String> missing = new ArrayList<>();
        for (Evaluator evaluator : evaluators) {
            for (InputField field : evaluator.getInputFields()) {
                String name = field.getName();
                if (fieldExprs.containsKey(name)) continue;
                if (present.contains(name)) fieldExprs.put(name, q(name).try_cast("double"));  // CSV text: bad -> null
                else missing.add(name);
            }
        }
        List<String> keep = opt.containsKey("keep") ? Arrays.asList(opt.get("keep").split(",")) : new ArrayList<>();
        for (String k : keep) {
            if (!present.contains(k)) missing.add(k + " (--keep)");
        }
        if (!missing.isEmpty()) {
            throw new BadInput("missing column(s) " + String.join(", ", missing) + "; found: " + String.join(", ", present)
                    + " (hint: name the columns after the PMML fields, or pass --array COLUMN=FIELDS)");
        }
        List<Column> select = new ArrayList<>();
        for (int i = 0; i < keep.size(); i++) select.add(q(keep.get(i)).alias("__keep" + i));
        for (Map.Entry<String, Column> e : fieldExprs.entrySet()) select.add(e.getValue().alias(e.getKey()));
        checks.add(lit(null).cast("string"));
        select.add(coalesce(checks.toArray(new Column[0])).alias("__check"));
        Dataset<Row> scored = df.select(select.toArray(new Column[0]));

        List<Column> errors = new ArrayList<>();
        errors.add(col("__check"));
        List<String> outputs = new ArrayList<>();
        for (int d = 0; d < evaluators.size(); d++) {
            FlatPMMLTransformer transformer = new FlatPMMLTransformer(evaluators.get(d));
            transformer.setInputs(true).setTargets(false).setOutputs(true).setExceptionCol("__pmml_error" + d);
            scored = transformer.transform(scored);
            errors.add(col("__pmml_error" + d));
            for (OutputField field : evaluators.get(d).getOutputFields()) outputs.add(field.getName());
        }
        Column error = coalesce(errors.toArray(new Column[0]));
        List<Column> result = new ArrayList<>();
        for (int i = 0; i < keep.size(); i++) result.add(col("__keep" + i).alias(keep.get(i)));
        for (String name : outputs) result.add(when(error.isNull(), q(name)).alias(name));
        result.add(error.alias(ERROR_COL));

        String outFormat = format(output, opt.get("output-format"));
        Path tmp = new Path(outPath.getParent(), "." + outPath.getName() + ".modelport-tmp-" + UUID.randomUUID());
        try {
            scored.select(result.toArray(new Column[0])).write().format(outFormat).option("header", "true").save(tmp.toString());
            Dataset<Row> written = spark.read().format(outFormat).option("header", "true").load(tmp.toString());
            Row counts = written.agg(functions.count(lit(1)), functions.count(col(ERROR_COL))).first();
            if (fs.exists(outPath)) fs.delete(outPath, true);
            if (!fs.rename(tmp, outPath)) throw new BadInput("could not rename " + tmp + " to " + output);
            long rows = counts.getLong(0), failed = counts.getLong(1);
            System.err.println("modelport-spark rows=" + rows + " failed=" + failed + " output=" + output);
            return failed > 0 && !flags.contains("--allow-row-errors") ? 1 : 0;
        } finally {
            if (fs.exists(tmp)) fs.delete(tmp, true);
        }
    }
}
